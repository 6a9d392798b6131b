"""Rebuild README.md from the section notes: `python .notes/build_readme.py`."""
from pathlib import Path

notes = Path(__file__).resolve().parent
root = notes.parent
parts = [(notes / "_head.md").read_text(), (notes / "_figures.md").read_text(), "## How each part works\n"]
for name in ["read", "clean", "language", "dates", "entities", "storage", "ops"]:
    text = (notes / f"{name}.md").read_text().strip()
    text = text.replace("\n## ", "\n### ")
    if text.startswith("## "):
        text = "#" + text
    parts.append(text + "\n")
parts.append((notes / "_tail.md").read_text())
(root / "README.md").write_text("\n".join(p.rstrip() + "\n" for p in parts))
