"""The certificate document: the frozen snapshot, its Ed25519 signature and its PDF.

Pure Python (no Flask, no database): ``signing`` signs and verifies snapshots, ``pdf`` renders
one, ``document`` holds the small German formatting helpers both the PDF and the web pages use.
"""
