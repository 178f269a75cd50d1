"""Helpers of the NATS tests: reading a stream back with plain nats-py, edge processes."""

from __future__ import annotations

import asyncio
import subprocess
import time

import numpy as np

from mdstream.nats.testing import start_mdstream


def run_async(coro, timeout: float = 60.0):
    """Run a nats-py coroutine to its end (a fresh event loop)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def stored_messages(url: str, stream: str = "MDSTREAM"):
    """Every message of a stream, in JetStream order, read by a plain nats-py consumer."""
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        msgs = []
        if info.state.messages:
            sub = await js.subscribe(">", stream=stream, ordered_consumer=True)
            while len(msgs) < info.state.messages:
                msgs.append(await sub.next_msg(10))
            await sub.unsubscribe()
        return msgs
    finally:
        await nc.close()


def stored_seqs(url: str, stream: str = "MDSTREAM") -> np.ndarray:
    """The engine seqs of every row stored in the stream, in JetStream order."""
    from mdstream.nats import decode_message

    # Right after a node of a cluster was killed, reads may time out while the
    # stream's new leader takes over: try again for a while.
    deadline = time.monotonic() + 60
    while True:
        try:
            msgs = run_async(stored_messages(url, stream))
            break
        except Exception as exc:             # noqa: BLE001 - nats-py's timeouts
            if "timeout" not in repr(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(1)
    parts = [decode_message(m.data)[0]["seq"] for m in msgs]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def start_edge(source: str, *extra: str) -> tuple[subprocess.Popen, str]:
    """``mdstream edge --source SOURCE --port 0`` as a process; returns it and its address."""
    return start_mdstream(["edge", "--source", source, "--port", "0", *extra])


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
