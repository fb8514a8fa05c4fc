"""Region featurizers that both the data layer and extraction use: pixels + boxes -> features.

A leaf area: it imports nothing from vlkit but utils.
"""
