"""Plot the loudness-normalised 1/3-octave curves (mid and side) of every tool for one track.

Run with the bench venv's Python (matplotlib). Input: the curves JSON that
benchsuite.py writes; output: a PNG without time stamps, so reruns on the same
measurements give the same bytes.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "reference": {"color": "black", "linewidth": 2.4},
    "input": {"color": "0.55", "linewidth": 1.4, "linestyle": "--"},
    "lacquer-auto": {"color": "tab:orange", "linewidth": 1.4},
    "lacquer-ref": {"color": "tab:red", "linewidth": 1.8},
    "matchering": {"color": "tab:blue", "linewidth": 1.8},
    "loudnorm": {"color": "tab:green", "linewidth": 1.2, "linestyle": ":"},
}


def main() -> int:
    src, png = sys.argv[1], sys.argv[2]
    data = json.load(open(src, encoding="utf-8"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharex=True)
    for ax, key in zip(axes, ("mid", "side")):
        for name, points in data["curves"][key].items():
            if not points:
                continue
            hz, db = zip(*points)
            ax.semilogx(hz, db, label=name, **STYLE.get(name, {}))
        ax.set_title(f"{data['track']}: {key}, 1/3-octave, minus integrated loudness")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("band level − LUFS-I (dB)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110, metadata={"Software": None})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
