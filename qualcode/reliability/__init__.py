"""Agreement between two coders: percent agreement, Cohen's kappa and Krippendorff's alpha.

A team checks a codebook by having two people (or the model and a reviewer) code the same
segments and measuring how often they agree beyond chance. Three jobs, one module each:
:mod:`.statistics` is the pure core (:func:`agreement` over two lists of label sets),
:mod:`.coders` reads one coder's file (:func:`load_coder_table`) and matches two by id
(:func:`compare`), and :mod:`.report` renders the console table and the workbook the team discusses
disagreements in (:func:`format_report`, :func:`run_agreement`).
"""

from .coders import CoderTable, Comparison, compare, load_coder_table
from .report import format_report, render_table, run_agreement, write_agreement_xlsx
from .statistics import AgreementReport, agreement, cohen_kappa, mean_defined, measures, nominal_alpha

__all__ = ["AgreementReport", "CoderTable", "Comparison", "agreement", "cohen_kappa", "compare", "format_report",
           "load_coder_table", "mean_defined", "measures", "nominal_alpha", "render_table", "run_agreement",
           "write_agreement_xlsx"]
