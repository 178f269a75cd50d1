"""Recording streams of results to disk.

``ParquetRecorder`` (and ``record(stream, directory)``) writes any
BatchStream - a gRPC stream, resuming or not, or an in-process Subscription -
into rolling Parquet files partitioned by event date and by kind or symbol,
with a bounded memory footprint, and continues a recording after a restart
from its last recorded sequence number without a gap or a duplicate
(mdstream.record.layout describes the files and the rule). Needs pyarrow:
``pip install 'mdstream[arrow]'``. The command is ``mdstream record``.
"""

from mdstream.record.layout import Recovery
from mdstream.record.parquet import ParquetRecorder, record

__all__ = ["ParquetRecorder", "record", "Recovery"]
