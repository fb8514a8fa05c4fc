"""Task datasets over (text store, image stores): each yields typed examples
(`vlkit.data.examples`) for collate."""

from vlkit.data.datasets.caption import ImageCaptionDataset
from vlkit.data.datasets.itm import ItmDataset
from vlkit.data.datasets.pair import ImageSource, PairDataset
from vlkit.data.datasets.refer import ReDataset
from vlkit.data.datasets.retrieval import ItmRankDataset
from vlkit.data.datasets.vqa import VqaDataset

__all__ = ["ImageCaptionDataset", "ImageSource", "ItmDataset", "ItmRankDataset", "PairDataset",
           "ReDataset", "VqaDataset"]
