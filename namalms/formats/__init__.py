"""File formats at the edges of the app: CSV/XLSX exports, iCalendar files, SVG charts and the
attendance lists trainers upload. Pure Python, no Flask or database: bytes and text in and out."""
