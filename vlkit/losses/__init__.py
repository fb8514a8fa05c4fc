"""Pure tensor loss functions (no models): `pretrain` (mlm, itm, mrfr / mrc / mrc-kl, soft-label
RoI classification), `ot` (IPOT word-region alignment), `finetune` (vqa, labelled
cross-entropy for NLVR2 and VCR, ranking, scst)."""
