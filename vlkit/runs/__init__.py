"""Run plumbing shared by the recipes, `vlkit eval` and prediction: what a run sets up
(`context`: device, seeds, run directory), the stores it opens (`stores`), its loaders
(`loaders`), its typed `task.*` options (`options`), how a model starts from `train.init_from`
(`init`, `vcr_model`) and which vocabulary stored token ids belong to
(`text_vocab`). Nothing here trains or scores: those are `vlkit.train` and `vlkit.evaluation`.
"""
