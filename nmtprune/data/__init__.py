from .batching import Batch, ParallelData, collate, load_split, make_batches, tokenize_split
from .corpora import CORPORA, Corpus, DataError, cache_dir, get_corpus, read_lines, read_parallel, shipped_data_dir
from .tokenize import Tokenizer
from .vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocab

__all__ = [
    "Batch",
    "ParallelData",
    "collate",
    "load_split",
    "make_batches",
    "tokenize_split",
    "CORPORA",
    "Corpus",
    "DataError",
    "cache_dir",
    "get_corpus",
    "read_lines",
    "read_parallel",
    "shipped_data_dir",
    "Tokenizer",
    "BOS",
    "EOS",
    "PAD",
    "SPECIALS",
    "UNK",
    "Vocab",
]
