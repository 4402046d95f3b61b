"""The EduAI demo: a small, deterministic school built through the same services production uses.

``content`` and ``essay_banks`` hold text we wrote ourselves (no third-party material);
``essays`` turns the sentence banks into essays of a chosen quality; ``builder`` writes
everything through the apps' public services so that their signals fire as in production.
"""
