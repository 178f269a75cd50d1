import sys, json
sys.path.insert(0, "/work/wt-lat")
from benchmarks import _grpc
py = sys.executable
res = {}
for rep in range(3):
    for name, argv in [("sync", []), ("aio", ["--aio"])]:
        with _grpc.ServerProcess([py, "-m", "benchmarks.baselines.preencoded_server", "--port", "0", "--rate", "0", *argv], "pre") as s:
            r = _grpc.run_clients(s, "baseline", 1, 3.0, 1.0)
        res.setdefault(name, []).append((round(r["clients"][0]["rate"]), round(r["server_cpu_s"]/3, 2)))
        print(name, res[name][-1], flush=True)
print(json.dumps(res))
