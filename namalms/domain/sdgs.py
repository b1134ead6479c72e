"""The 17 Sustainable Development Goals with their official German short names."""
from __future__ import annotations

SDG_NAMES = {
    1: "Keine Armut",
    2: "Kein Hunger",
    3: "Gesundheit und Wohlergehen",
    4: "Hochwertige Bildung",
    5: "Geschlechtergleichheit",
    6: "Sauberes Wasser und Sanitäreinrichtungen",
    7: "Bezahlbare und saubere Energie",
    8: "Menschenwürdige Arbeit und Wirtschaftswachstum",
    9: "Industrie, Innovation und Infrastruktur",
    10: "Weniger Ungleichheiten",
    11: "Nachhaltige Städte und Gemeinden",
    12: "Nachhaltige/r Konsum und Produktion",
    13: "Maßnahmen zum Klimaschutz",
    14: "Leben unter Wasser",
    15: "Leben an Land",
    16: "Frieden, Gerechtigkeit und starke Institutionen",
    17: "Partnerschaften zur Erreichung der Ziele",
}


# Names short enough for a badge beside the title (a module touching many goals shows these).
SDG_SHORT_NAMES = {
    1: "Keine Armut", 2: "Kein Hunger", 3: "Gesundheit", 4: "Bildung", 5: "Gleichstellung", 6: "Wasser",
    7: "Energie", 8: "Gute Arbeit", 9: "Innovation", 10: "Ungleichheit", 11: "Städte", 12: "Konsum",
    13: "Klimaschutz", 14: "Leben im Wasser", 15: "Leben an Land", 16: "Frieden", 17: "Partnerschaften",
}


def sdg_label(number: int) -> str:
    return f"SDG {number}: {SDG_NAMES.get(number, '')}".rstrip(": ")
