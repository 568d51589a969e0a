from .search import beam_search, greedy_search, max_target_len

__all__ = ["beam_search", "greedy_search", "max_target_len"]
