"""Generic transformer building blocks (no knowledge of images, text or tasks).

Parameter names follow BERT (`attention.self.query`, `attention.output.LayerNorm`, ...) so that
BERT and UNITER checkpoints load by a plain key copy.
"""

from vlkit.modules.activations import ACTIVATIONS, GELU, gelu
from vlkit.modules.attention import Attention, KeyValue, SelfAttention, attention_bias
from vlkit.modules.dropout import Dropout, dropout
from vlkit.modules.packing import TokenPacking
from vlkit.modules.transformer import Pooler, TransformerLayer, TransformerStack

__all__ = [
    "ACTIVATIONS", "GELU", "gelu", "Attention", "KeyValue", "SelfAttention", "attention_bias",
    "Dropout", "dropout", "Pooler", "TransformerLayer", "TransformerStack", "TokenPacking",
]
