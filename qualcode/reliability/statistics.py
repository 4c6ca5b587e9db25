"""Agreement statistics: percent agreement, Cohen's kappa and Krippendorff's alpha, per code and pooled.

A pure core over two lists of label sets (no files). Conventions, chosen so numbers match the
reference libraries a reviewer would check them with:

* Multi-label codes are scored per code as binary presence; "pooled" scores all (item, code)
  decisions together, "macro mean" averages the per-code values that are defined.
* Kappa is ``sklearn.metrics.cohen_kappa_score``, except that two coders who give every item
  the same single value get 1.0 (sklearn calls that 0/0 undefined; for a code both coders
  applied everywhere, or nowhere, perfect agreement is the honest reading).
* Alpha is ``krippendorff.alpha(..., level_of_measurement="nominal")``; it is NaN (an empty cell)
  when there is no variation at all, where that package refuses to compute it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Sequence

NAN = float("nan")


# --- the pure core ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    """How two coders' binary decisions fall: both present, one only, or neither."""

    both: int
    a_only: int
    b_only: int
    neither: int

    @property
    def total(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.both + other.both, self.a_only + other.a_only,
                      self.b_only + other.b_only, self.neither + other.neither)

    @classmethod
    def of(cls, present_a: Sequence[bool], present_b: Sequence[bool]) -> Counts:
        pairs = Counter(zip(present_a, present_b))
        return cls(pairs[True, True], pairs[True, False], pairs[False, True], pairs[False, False])


@dataclass(frozen=True)
class Measures:
    """The three agreement figures for one comparison; ``percent`` is a fraction (0..1)."""

    percent: float
    kappa: float
    alpha: float


@dataclass(frozen=True)
class CodeAgreement:
    """One code scored as binary presence; ``disagreements`` are item positions."""

    code: str
    counts: Counts
    measures: Measures
    disagreements: tuple[int, ...]


@dataclass(frozen=True)
class AgreementReport:
    """Per-code, pooled and macro figures; ``single_label`` only when every item has one code."""

    n_items: int
    per_code: tuple[CodeAgreement, ...]
    pooled_counts: Counts
    pooled: Measures
    macro: Measures
    single_label: Measures | None


def cohen_kappa(values_a: Sequence[Hashable], values_b: Sequence[Hashable]) -> float:
    """sklearn's Cohen's kappa, with 1.0 when both coders give one identical value throughout.

    That is the only case besides no items where sklearn's kappa is undefined (expected
    agreement 1), so every other value is sklearn's own.
    """
    from sklearn.metrics import cohen_kappa_score

    if not len(values_a):
        return NAN
    if len(set(values_a) | set(values_b)) == 1:
        return 1.0
    return float(cohen_kappa_score(list(values_a), list(values_b)))


def nominal_alpha(*coders: Sequence[Hashable | None]) -> float:
    """``krippendorff.alpha`` (nominal) for two or more coders' aligned values, ``None`` where a
    coder left a unit uncoded (a missing value, which alpha handles and kappa cannot); NaN where
    there is no variation."""
    import krippendorff

    values = sorted({value for coder in coders for value in coder if value is not None}, key=repr)
    if len(values) < 2:
        return NAN
    index = {value: float(position) for position, value in enumerate(values)}
    data = [[NAN if value is None else index[value] for value in coder] for coder in coders]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def measures(values_a: Sequence[Hashable], values_b: Sequence[Hashable]) -> Measures:
    """Percent agreement, kappa and alpha for two aligned sequences of nominal values."""
    matches = [a == b for a, b in zip(values_a, values_b, strict=True)]
    percent = sum(matches) / len(matches) if matches else NAN
    return Measures(percent, cohen_kappa(values_a, values_b), nominal_alpha(values_a, values_b))


def mean_defined(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN; NaN when none is."""
    defined = [value for value in values if not math.isnan(value)]
    return sum(defined) / len(defined) if defined else NAN


def is_single_label(labels: Sequence[Sequence[str]]) -> bool:
    return bool(labels) and all(len(codes) == 1 for codes in labels)


def agreement(labels_a: Sequence[Sequence[str]], labels_b: Sequence[Sequence[str]],
              code_ids: Sequence[str]) -> AgreementReport:
    """Score two coders' aligned label sets (item ``i`` of A is item ``i`` of B) per code in ``code_ids``.

    A code outside ``code_ids`` is a caller error (it would silently drop out of the figures).
    """
    if len(labels_a) != len(labels_b):
        raise ValueError(f"coders must label the same items: {len(labels_a)} != {len(labels_b)}")
    unknown = sorted({code for codes in (*labels_a, *labels_b) for code in codes} - set(code_ids))
    if unknown:
        raise ValueError(f"codes missing from code_ids: {', '.join(unknown)}")
    sets_a, sets_b = [set(codes) for codes in labels_a], [set(codes) for codes in labels_b]
    presence = {code: ([code in codes for codes in sets_a], [code in codes for codes in sets_b])
                for code in code_ids}
    per_code = tuple(
        CodeAgreement(code, Counts.of(a, b), measures(a, b),
                      tuple(position for position, pair in enumerate(zip(a, b)) if pair[0] != pair[1]))
        for code, (a, b) in presence.items())
    pooled_a = [value for a, _ in presence.values() for value in a]
    pooled_b = [value for _, b in presence.values() for value in b]
    macro = Measures(*(mean_defined([getattr(code.measures, name) for code in per_code])
                       for name in ("percent", "kappa", "alpha")))
    single = None
    if is_single_label(labels_a) and is_single_label(labels_b):
        single = measures([codes[0] for codes in labels_a], [codes[0] for codes in labels_b])
    return AgreementReport(len(labels_a), per_code, sum((code.counts for code in per_code), Counts(0, 0, 0, 0)),
                           measures(pooled_a, pooled_b), macro, single)
