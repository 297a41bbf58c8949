"""The book layer: page builders that read results records (status, parameters, exercises,
landing page, performance), the results snapshot and the ``jupyter-book`` build."""

from fairnb.book.pages import (GENERATED, HTML, build, jupyter_book, results_table, status_rows, write_exercises,
                               write_pages, write_parameter_reference, write_status_page)

__all__ = ["GENERATED", "HTML", "build", "jupyter_book", "results_table", "status_rows", "write_exercises", "write_pages",
           "write_parameter_reference", "write_status_page"]
