"""Train and evaluate the models shipped in ``pretrained/``.

Reproduce them with::

    python -m unetviz.pretrain inversion
    python -m unetviz.pretrain membrane --data ../shared/data/isbi2012-membrane
    python -m unetviz.pretrain membrane-bn --data ../shared/data/isbi2012-membrane
    python -m unetviz.pretrain evaluate --model membrane-bn --tta --data ../shared/data/isbi2012-membrane
    python -m unetviz.pretrain rescore --model membrane   # re-measure and rewrite the card

Each run writes the ``.keras`` file and a JSON card beside it; the Markdown
model card is written from the JSON (see :func:`write_card`).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "isbi2012-membrane"


def predict_full(model, image: np.ndarray, *, tta: bool = False) -> np.ndarray:
    """Predict a whole (H, W) image with a fully convolutional model: (H, W) float32.

    ``tta`` averages over the 8 rotations and flips (see :func:`unetviz.predict.predict_image`).
    """
    from unetviz.predict import predict_image

    return predict_image(model, image[:, :, None].astype(np.float32), tta=tta).prob[..., 0]


SCORE_KEYS = ("pixel_error", "dice", "iou", "v_rand", "v_info")


def evaluate_membrane(model, data_dir=DEFAULT_DATA, indices=None, *, tta: bool = False) -> dict:
    """Pixel error, Dice, IoU, V_rand and V_info on whole held-out slices (default 25-29)."""
    from unetviz.data import HELD_OUT, read_isbi_folder
    from unetviz.metrics import segmentation_scores

    data = read_isbi_folder(data_dir, indices or HELD_OUT)
    per = [segmentation_scores(predict_full(model, im, tta=tta), lab)
           for im, lab in zip(data.images, data.labels)]
    return {
        "slices": list(data.indices),
        "tta": tta,
        **{k: float(np.mean([getattr(s, k) for s in per])) for k in SCORE_KEYS},
        "per_slice": [{k: getattr(s, k) for k in SCORE_KEYS} for s in per],
    }


def _machine() -> str:
    import keras

    return f"{platform.machine()} CPU, Keras {keras.__version__} on {keras.backend.backend()}"


def train_inversion(out: Path, epochs: int = 500, seed: int = 0) -> dict:
    """The tutorial's 348-parameter model on its toy task (Adam 5e-4, MSE)."""
    import keras

    from unetviz.data import toy_inversion
    from unetviz.model import PRESETS, build_unet, save_model

    keras.utils.set_random_seed(seed)
    x, y = toy_inversion(100, 8, seed=seed)
    model = build_unet(PRESETS["seed-simple"])
    model.compile(keras.optimizers.Adam(5e-4), loss="mse")
    t0 = time.time()
    hist = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    seconds = time.time() - t0
    xt, yt = toy_inversion(100, 8, seed=seed + 1)
    pred = np.asarray(model(xt, training=False))
    save_model(model, out)
    card = {
        "name": "inversion",
        "preset": "seed-simple",
        "params": int(model.count_params()),
        "command": f"python -m unetviz.pretrain inversion --epochs {epochs} --seed {seed}",
        "data": "100 random 8x8 binary images and their inversions (unetviz.data.toy_inversion, seed 0)",
        "epochs": epochs,
        "batch_size": 32,
        "optimizer": "Adam, learning rate 5e-4",
        "loss": "mse",
        "seconds": round(seconds, 1),
        "machine": _machine(),
        "loss_first_epoch": float(hist.history["loss"][0]),
        "loss_last_epoch": float(hist.history["loss"][-1]),
        "test_mse": float(np.mean((pred - yt) ** 2)),
        "test_pixel_accuracy": float(np.mean((pred >= 0.5) == (yt >= 0.5))),
    }
    return card


MEMBRANE_MODELS = {  # shipped name -> builder preset
    "membrane": "seed-membrane",
    "membrane-bn": "membrane-bn",
}


def train_membrane(out: Path, data_dir=DEFAULT_DATA, epochs: int = 40, steps: int = 250,
                   batch: int = 16, crop: int = 128, lr: float = 1e-3, seed: int = 0,
                   mixed: bool = True, stop_after: int | None = None, name: str = "membrane",
                   resume: Path | None = None, polish: bool = False, log=print) -> dict:
    """A membrane U-Net (``name`` in :data:`MEMBRANE_MODELS`), trained with BCE + Dice on
    random crops of slices 0-24.

    The learning rate follows a cosine decay planned over ``epochs``;
    ``stop_after`` ends the run early (same schedule, fewer epochs). ``resume`` continues
    a checkpoint whose JSON card (beside it) says how many epochs it had: the schedule goes
    on from there, with fresh Adam moments (checkpoints carry no optimizer). With ``polish``,
    the resumed run instead follows a fresh cosine decay from ``lr`` over ``epochs`` more epochs
    (a low-rate polish of a checkpoint whose schedule was cut short).
    """
    import keras

    from unetviz.data import TRAIN_SLICES, random_crops, read_isbi_folder
    from unetviz.losses import get_loss, membrane_dice
    from unetviz.model import PRESETS, build_unet, load_model, rebuild, save_model

    prior = json.loads(Path(resume).with_suffix(".json").read_text()) if resume else None
    first = prior["epochs"] if prior else 0
    keras.utils.set_random_seed(seed + first)
    data = read_isbi_folder(data_dir, TRAIN_SLICES)
    rng = np.random.default_rng(seed + first)  # a resumed run draws crops it has not seen

    class Crops(keras.utils.PyDataset):
        def __len__(self):
            return steps

        def __getitem__(self, i):
            x, y = random_crops(data.images, data.labels, batch, crop, rng)
            # Mild brightness/contrast jitter so the model does not lean on exact grey levels.
            a = rng.uniform(0.85, 1.15, (batch, 1, 1, 1)).astype(np.float32)
            b = rng.uniform(-0.08, 0.08, (batch, 1, 1, 1)).astype(np.float32)
            return np.clip(x * a + b, 0, 1), y

    config = PRESETS[MEMBRANE_MODELS[name]].replace(input_size=None, name=name.replace("-", "_"))
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = build_unet(config)
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps, alpha=0.02)
    model.compile(keras.optimizers.Adam(schedule), loss=get_loss("bce_dice"),
                  metrics=[membrane_dice])
    keras.mixed_precision.set_global_policy("float32")
    if prior:
        model.set_weights(load_model(resume).get_weights())
        model.optimizer.build(model.trainable_variables)
        if not polish:
            model.optimizer.iterations.assign(first * steps)  # the schedule goes on where it was
    if polish and not prior:
        raise ValueError("--polish needs --resume: it polishes an existing checkpoint.")

    history = list(prior["history"]) if prior else []
    last = first + epochs if polish else min(epochs, stop_after or epochs)
    t0 = time.time() - (prior["seconds"] if prior else 0.0)
    card = {}
    for epoch in range(first + 1, last + 1):
        h = model.fit(Crops(), epochs=epoch, initial_epoch=epoch - 1, verbose=0)
        row = {"epoch": epoch, "seconds": round(time.time() - t0, 1),
               **{k: float(v[-1]) for k, v in h.history.items()}}
        history.append(row)
        if epoch % 5 == 0 or epoch == last or polish:
            # A usable, resumable checkpoint with its card while the run goes on.
            f32 = rebuild(model, config)
            save_model(f32, out)
            card = membrane_card(f32, data_dir, name=name,
                                 epochs=prior["epochs_planned"] if polish else epochs, steps=steps,
                                 batch=batch, crop=crop, lr=lr, seed=seed, mixed=mixed,
                                 stopped_after=epoch, seconds=row["seconds"], history=history,
                                 resumed_after=(prior or {}).get("resumed_after", first) or None,
                                 prior_precision=(prior or {}).get("precision"),
                                 tta=epoch == last)  # TTA is 8x slower: on the final card only
            if polish:
                card = polished_card(card, prior, epochs=epoch - first, lr=lr, steps=steps,
                                     batch=batch, crop=crop)
            row["held_out"] = {k: card["held_out"][k] for k in ("pixel_error", "dice", "v_rand")}
            write_card(card, out.with_suffix(".json"))
        log(json.dumps(row))
        sys.stdout.flush()
    return card


def membrane_card(model, data_dir, *, name="membrane", epochs, steps, batch, crop, lr, seed, mixed,
                  stopped_after, seconds, history, resumed_after=None, prior_precision=None,
                  tta=True) -> dict:
    """The model card of a membrane run, with freshly measured held-out scores."""
    stop = f" --stop-after {stopped_after}" if stopped_after < epochs else ""
    args = (f"--data DATA --epochs {epochs} --steps {steps} --batch {batch} --crop {crop} "
            f"--lr {lr} --seed {seed}")
    command = f"python -m unetviz.pretrain {name} {args}" + stop + ("" if mixed else " --no-mixed")
    if resumed_after:
        was_mixed = "mixed" in (prior_precision or ("mixed" if mixed else ""))
        command = (f"python -m unetviz.pretrain {name} {args} --stop-after {resumed_after}"
                   + ("" if was_mixed else " --no-mixed") + ", then "
                   f"python -m unetviz.pretrain {name} {args} --resume pretrained/{name}.keras"
                   + stop + ("" if mixed else " --no-mixed"))
    return {
        "name": name,
        "preset": f"{MEMBRANE_MODELS[name]} (input size left open, so whole slices are predicted)",
        "params": int(model.count_params()),
        "command": command,
        "data": "ISBI 2012 membrane, train slices 0-24 (held out: 25-29)",
        "augmentation": f"random {crop}x{crop} crops, one of the 8 rotations/flips each, "
                        "brightness x[0.85, 1.15] + [-0.08, 0.08]",
        "epochs": stopped_after,
        "epochs_planned": epochs,
        "steps_per_epoch": steps,
        "batch_size": batch,
        "crops_seen": stopped_after * steps * batch,
        "optimizer": f"Adam, cosine decay from {lr} to {lr * 0.02:g} planned over {epochs} epochs"
                     + (f", stopped after epoch {stopped_after}" if stopped_after < epochs else ""),
        "loss": "binary cross-entropy + membrane Dice",
        "precision": _precision(mixed, resumed_after, prior_precision, stopped_after),
        "seconds": round(seconds, 1),
        "machine": _machine(),
        **({"resumed_after": resumed_after,
            "resumed": f"after epoch {resumed_after} from its own checkpoint, with the schedule "
                       "going on where it stopped and fresh Adam moments"}
           if resumed_after else {}),
        **held_out_scores(model, data_dir, tta=tta),
        "history": history,
    }


def polished_card(card: dict, prior: dict, *, epochs: int, lr: float, steps: int, batch: int,
                  crop: int) -> dict:
    """``card`` rewritten for a polish run: the prior run's record, then what the polish added."""
    first = prior["epochs"]
    polish = (f"python -m unetviz.pretrain {card['name']} --data DATA --resume "
              f"pretrained/{card['name']}.keras --polish --epochs {epochs} --steps {steps} "
              f"--batch {batch} --crop {crop} --lr {lr} --no-mixed")
    out = dict(card)
    out.pop("resumed", None)
    out.pop("resumed_after", None)
    out.update({
        "command": f"{prior['command']}, then {polish}",
        "epochs": first + epochs,
        "epochs_planned": prior["epochs_planned"],
        "crops_seen": prior["crops_seen"] + epochs * steps * batch,
        "optimizer": f"{prior['optimizer']}; then a polish of {epochs} epochs x {steps} steps: "
                     f"fresh Adam, cosine decay from {lr} to {lr * 0.02:g}",
        "polished_after": first,
    })
    return out


def _precision(mixed: bool, resumed_after, prior, last) -> str:
    """The card's precision line; a resumed run whose precision changed says which epochs had which."""
    this = "mixed bfloat16 during training, saved as float32" if mixed else "float32"
    if not (resumed_after and prior) or prior == this:
        return this
    before = prior.split(";")[0] if prior.startswith("epochs 1-") else f"epochs 1-{resumed_after}: {prior}"
    return f"{before}; epochs {resumed_after + 1}-{last}: {this}"


def held_out_scores(model, data_dir=DEFAULT_DATA, *, tta: bool = True) -> dict:
    """The card's score tables: plain prediction, and (``tta``) with test-time augmentation."""
    scores = {"held_out": evaluate_membrane(model, data_dir)}
    if tta:
        scores["held_out_tta"] = evaluate_membrane(model, data_dir, tta=True)
    return scores


def _score_table(title: str, s: dict) -> list[str]:
    lines = ["", f"## {title}", "",
             "| slice | pixel error | membrane Dice | IoU | V_rand | V_info |", "|---|---|---|---|---|---|"]
    for i, p in zip(s["slices"], s["per_slice"]):
        lines.append(f"| {i} | " + " | ".join(f"{p[k]:.4f}" for k in SCORE_KEYS) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{s[k]:.4f}**" for k in SCORE_KEYS) + " |")
    return lines


def write_card(card: dict, json_path: Path) -> None:
    """Write the JSON card and a Markdown model card beside it."""
    json_path.write_text(json.dumps(card, indent=2) + "\n")
    lines = [f"# Model card: {card['name']}", ""]
    skip = {"history", "held_out", "held_out_tta", "name"}
    for key, value in card.items():
        if key not in skip:
            lines.append(f"- **{key.replace('_', ' ')}**: {value}")
    if "held_out" in card:
        where = f"whole 512x512 slices {card['held_out']['slices']}, threshold 0.5"
        lines += _score_table(f"Held-out scores ({where})", card["held_out"])
        if "held_out_tta" in card:
            lines += _score_table("The same with test-time augmentation (mean over the 8 rotations "
                                  "and flips)", card["held_out_tta"])
        lines += ["", "V_rand and V_info are the ISBI 2012 challenge's foreground-restricted Rand and "
                  "information scores of the cell segmentation (connected components of the "
                  "thresholded cell map); 1 is perfect. See `unetviz.metrics`.",
                  "", "Reference on the same slices: predicting \"cell\" everywhere scores pixel "
                  "error 0.199; the tutorial's own recipe about 0.106 and Dice 0.75.",
                  "", f"Measured by `python -m unetviz.pretrain evaluate --model {card['name']}` "
                  "(add `--tta` for the second table)."]
    json_path.with_suffix(".md").write_text("\n".join(lines) + "\n")


def rescore(name: str, data_dir=DEFAULT_DATA) -> dict:
    """Re-measure a shipped membrane model and rewrite its card (the run's record is kept)."""
    from unetviz.model import load_model

    path = PRETRAINED / f"{name}.keras"
    card = json.loads(path.with_suffix(".json").read_text())
    card.update(held_out_scores(load_model(path), data_dir))
    card["history"] = card.pop("history", [])  # keep the run's history last
    write_card(card, path.with_suffix(".json"))
    return card


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unetviz.pretrain", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("inversion", *MEMBRANE_MODELS, "evaluate", "rescore"))
    ap.add_argument("--model", default="membrane",
                    help="evaluate/rescore: a shipped model's name (membrane, membrane-bn)")
    ap.add_argument("--tta", action="store_true",
                    help="evaluate: average the prediction over the 8 rotations and flips")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="ISBI-layout folder")
    ap.add_argument("--out", default=None, help="where to write the .keras file")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stop-after", type=int, default=None,
                    help="end after this epoch (the schedule stays planned over --epochs)")
    ap.add_argument("--no-mixed", action="store_true", help="train in float32")
    ap.add_argument("--polish", action="store_true",
                    help="with --resume: a fresh cosine decay from --lr over --epochs more epochs")
    ap.add_argument("--resume", default=None,
                    help="continue this checkpoint (its JSON card beside it gives the epoch)")
    a = ap.parse_args(argv)
    if a.what == "evaluate":
        from unetviz.model import load_model

        model = load_model(a.out or PRETRAINED / f"{a.model}.keras")
        scores = evaluate_membrane(model, a.data, tta=a.tta)
        print(json.dumps({k: v for k, v in scores.items() if k != "per_slice"}))
        return 0
    if a.what == "rescore":
        card = rescore(a.model, a.data)
        print(json.dumps({k: {m: card[k][m] for m in SCORE_KEYS}
                          for k in ("held_out", "held_out_tta")}, indent=2))
        return 0
    out = Path(a.out or PRETRAINED / f"{a.what}.keras")
    out.parent.mkdir(parents=True, exist_ok=True)
    if a.what == "inversion":
        card = train_inversion(out, epochs=a.epochs or 500, seed=a.seed)
    else:
        card = train_membrane(out, a.data, epochs=a.epochs or 40, steps=a.steps, batch=a.batch,
                              crop=a.crop, lr=a.lr, seed=a.seed, mixed=not a.no_mixed,
                              stop_after=a.stop_after, name=a.what, resume=a.resume,
                              polish=a.polish)
    write_card(card, out.with_suffix(".json"))
    summary = {k: v for k, v in card.items() if k != "history"}
    for key in ("held_out", "held_out_tta"):
        if key in summary:
            summary[key] = {k: summary[key][k] for k in SCORE_KEYS}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
