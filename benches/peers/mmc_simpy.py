"""The M/M/c model of scaletwin's engine benchmark, written with SimPy.

Poisson arrivals at rate LAMBDA, exponential service of mean 1/MU, C servers sharing one FIFO
queue. Prints one JSON line: requests served, simulated seconds, wall seconds, mean wait.
"""
import json
import random
import sys
import time

import simpy

C, LAMBDA, MU = 4, 3.2, 1.0


def main(duration: float, seed: int) -> None:
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=C)
    stats = {"served": 0, "wait": 0.0}

    def customer():
        arrived = env.now
        with servers.request() as req:
            yield req
            stats["wait"] += env.now - arrived
            yield env.timeout(rng.expovariate(MU))
        stats["served"] += 1

    def source():
        while True:
            yield env.timeout(rng.expovariate(LAMBDA))
            env.process(customer())

    env.process(source())
    started = time.perf_counter()
    env.run(until=duration)
    wall = time.perf_counter() - started
    print(json.dumps({
        "peer": "simpy",
        "requests": stats["served"],
        "simulated_s": duration,
        "wall_s": wall,
        "requests_per_s": stats["served"] / wall,
        "mean_wait_s": stats["wait"] / max(stats["served"], 1),
    }))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 100000.0, int(sys.argv[2]) if len(sys.argv) > 2 else 1)
