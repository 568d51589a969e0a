"""nmtprune: train LSTM attention NMT models and prune them (See, Luong & Manning 2016 and successors)."""

__version__ = "0.1.0"
