"""Reading a PDF's text back (pypdf), to check what a report says."""
from pypdf import PdfReader


def pdf_lines(path):
    """The non-blank text lines of every page, stripped, in reading order."""
    reader = PdfReader(path)
    return [line.strip() for page in reader.pages for line in page.extract_text().splitlines() if line.strip()]


def pdf_image_count(path):
    """How many images the PDF's pages draw."""
    return sum(len(page.images) for page in PdfReader(path).pages)


def cells_after(lines, label, count):
    """The `count` lines that follow the first line equal to label (a table row's other cells)."""
    start = lines.index(label) + 1
    return lines[start:start + count]
