"""A command that fails before producing anything leaves no new folder behind (it used to
leave a stray config.yaml); one that fails after a checkpoint keeps the folder for a resume."""

from __future__ import annotations

from vlkit.cli.main import main


def test_failed_train_leaves_no_new_folder(world, tiny, tmp_path, capsys, monkeypatch):
    from vlkit.runs import context

    written = []
    real = context._write_config
    monkeypatch.setattr(context, "_write_config",
                        lambda run_dir, cfg: (written.append(run_dir), real(run_dir, cfg)))
    run = tmp_path / "new" / "deeper" / "run"
    code = main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 "data.train_img=[no_such_store]", "train.total_steps=2", *tiny])
    assert code == 2 and "no_such_store" in capsys.readouterr().err
    assert written == [run]  # it got as far as writing config.yaml
    assert list(tmp_path.iterdir()) == []  # and removed it, the folders it made, the lock


def test_failed_train_after_a_checkpoint_keeps_the_folder(world, tiny, tmp_path, monkeypatch):
    from vlkit.train import trainer

    real = trainer._validate

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "_validate", fail)
    run = tmp_path / "run"
    code = main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 "train.total_steps=4", "train.ckpt_every=1", "train.val_every=2", *tiny])
    assert code == 130
    assert (run / "checkpoints" / "step_00000002.pt").exists()
    monkeypatch.setattr(trainer, "_validate", real)
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 "train.total_steps=4", "train.ckpt_every=1", "train.val_every=2", *tiny]) == 0


def test_failed_eval_leaves_no_new_folder(world, tiny, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                 "train.total_steps=1", *tiny]) == 0
    before = sorted(p.name for p in run.iterdir())
    code = main(["eval", str(run), "data.test_txt=[txt/no_such_store]", "data.val_txt=[]"])
    assert code == 2 and "no_such_store" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == before  # no RUN/eval, no lock file
