"""Run Matchering 2.x once: TARGET REFERENCE OUT.wav (24-bit PCM, its default limiter on).

Kept as a separate process so /usr/bin/time measures Matchering's own wall time
and peak memory (interpreter start and imports included, as a user pays them).
"""

import sys

import matchering as mg


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: matchering_one.py TARGET REFERENCE OUT.wav", file=sys.stderr)
        return 2
    target, reference, out = sys.argv[1:]
    mg.process(target=target, reference=reference, results=[mg.pcm24(out)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
