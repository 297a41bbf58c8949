"""One plotting style for the book, the mean ± std formatter, the placeholder figure, and the
dataset descriptions shown on the data pages."""
