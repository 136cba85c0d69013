"""Training killed with SIGKILL at random moments (checkpoint writes included) always resumes cleanly."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from conftest import tiny_train_command

from dcgan import checkpoint


def test_sigkill_at_random_moments_then_resume(tiny_cache, tmp_path) -> None:
    run = tmp_path / "run"
    every = 3
    command = tiny_train_command(
        tiny_cache, run, f"--checkpoint-every {every} --keep-checkpoints 2 --sample-every 1000 --log-every 1"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(0)
    for attempt in range(3):
        args = [*command, "--steps", "100000"] + (["--resume"] if attempt else [])
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        before = checkpoint.list_checkpoints(run / "checkpoints")
        deadline = time.time() + 120
        while checkpoint.list_checkpoints(run / "checkpoints") == before and time.time() < deadline:
            time.sleep(0.05)  # wait until this attempt has written at least one checkpoint of its own
        time.sleep(rng.uniform(0.0, 1.5))  # then kill anywhere: mid-step or mid-write
        process.send_signal(signal.SIGKILL)
        process.wait()
        found = checkpoint.list_checkpoints(run / "checkpoints")
        assert found, f"attempt {attempt}: no checkpoint left"
        _, meta = checkpoint.read(found[-1][1])  # the latest one is always complete and readable
        assert meta["step"] == found[-1][0] and meta["step"] % every == 0
        assert not before or found[-1][0] >= before[-1][0]  # never went backwards
    target = found[-1][0] + 4
    finished = subprocess.run(
        [*command, "--steps", str(target), "--resume"], capture_output=True, text=True, env=env, timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    steps = [s for s, _ in checkpoint.list_checkpoints(run / "checkpoints")]
    assert steps[-1] == target
    lines = (run / "metrics.jsonl").read_text().splitlines()
    logged = sorted({json.loads(line)["step"] for line in lines})
    assert logged == list(range(1, target + 1))  # every step ran; repeats only after the last checkpoint
