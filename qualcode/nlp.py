"""spaCy loading, in one place: local models only, and only the components a stage needs.

Both stages name any installed spaCy package or model folder (``en_core_web_lg``,
``en_core_web_trf``, ``./my_model``) and never download one: a missing model stops the run
with a clear error before anything is written (fail closed).
"""

from __future__ import annotations

from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Iterable, Iterator

from .errors import QualcodeError

CASEFOLD_LEMMA = "qualcode_casefold_lemma"
# spaCy refuses a text longer than nlp.max_length (1,000,000 characters), and its memory grows with
# what one batch holds: en_core_web_sm took 3 GB for one 1 MB line, 0.3 GB per 100,000 characters.
# Long texts run in windows, and a batch holds at most this many characters.
WINDOW_CHARS = 100_000


def check_model_available(model: str) -> None:
    """Cheap check before any work: the model must be an installed package or a folder."""
    import spacy.util

    if not (spacy.util.is_package(model) or Path(model).is_dir()):
        raise QualcodeError(f"cannot load the spaCy model {model!r}: it is not installed and is not a model folder. "
                            "Install it or pass --model with an installed model; nothing was written")


def load_spacy(model: str):
    """Load an installed spaCy package or model folder; never download. Fails closed."""
    import spacy

    check_model_available(model)
    try:
        return spacy.load(model)
    except (OSError, ValueError, ImportError, KeyError) as error:
        raise QualcodeError(f"cannot load the spaCy model {model!r} ({type(error).__name__}); "
                            "nothing was written") from None


def components_for(nlp, *targets: str) -> list[str]:
    """The ``targets`` present in the pipeline plus every component they listen to (tok2vec, transformer)."""
    needed = [name for name in targets if name in nlp.pipe_names]
    for name, component in nlp.pipeline:
        if any(target in getattr(component, "listening_components", ()) for target in needed):
            needed.append(name)
    return needed


@cache
def _register_casefold_lemma() -> None:
    from spacy.language import Language

    @Language.component(CASEFOLD_LEMMA)
    def casefold_lemma(doc):
        """Lower-case lemmas, or the lower-cased word where no lemmatizer ran.

        Presidio's context words and qualcode's keyword matching compare lemmas; both must be
        case-insensitive, and both must still work when the lemmatizer is switched off.
        """
        for token in doc:
            token.lemma_ = (token.lemma_ or token.text).lower()
        return doc


def keep_only(nlp, names: list[str]) -> LongTextPipeline:
    """Enable exactly ``names`` (in pipeline order), then add the case-folding lemma component."""
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in names])
    _register_casefold_lemma()
    nlp.add_pipe(CASEFOLD_LEMMA, last=True)
    return LongTextPipeline(nlp)


def ner_pipeline(model: str):
    """Only what NER needs: in en_core_web_sm the NER has its own tok2vec, so that is just ``ner``."""
    nlp = load_spacy(model)
    if "ner" not in nlp.pipe_names:
        raise QualcodeError(f"the spaCy model {model!r} has no 'ner' component")
    return keep_only(nlp, components_for(nlp, "ner"))


def lemma_pipeline(model: str):
    """Only what lemmas need (tagger, attribute ruler, lemmatizer and what they listen to)."""
    nlp = load_spacy(model)
    return keep_only(nlp, components_for(nlp, "tagger", "morphologizer", "attribute_ruler", "lemmatizer"))


def windows(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters that join back to it exactly, each cut
    after its last line break, else after its last space, so few words or names are split."""
    pieces, start = [], 0
    while len(text) - start > size:
        end = start + size
        cut = text.rfind("\n", start, end) + 1 or text.rfind(" ", start, end) + 1 or end
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


class LongTextPipeline:
    """A spaCy pipeline that takes a text of any length (a 1 MB line, a 50 MB monologue).

    A text longer than :data:`WINDOW_CHARS` runs in :func:`windows` and comes back as one Doc over
    exactly the input text, so offsets and entities read as if spaCy had seen it whole. Batches
    are capped by characters as well as by count, so memory stays bounded however long the texts.
    Everything else is the wrapped pipeline's.
    """

    def __init__(self, nlp):
        self.nlp = nlp

    def pipe(self, texts, as_tuples: bool = False, batch_size: int | None = None, **kwargs):
        from spacy.tokens import Doc

        pairs = texts if as_tuples else ((text, None) for text in texts)
        pieces = ((piece, (index, context)) for index, (text, context) in enumerate(pairs)
                  for piece in windows(text, WINDOW_CHARS))
        batches = _batches(pieces, batch_size or self.nlp.batch_size, WINDOW_CHARS)
        parsed = (pair for batch in batches
                  for pair in self.nlp.pipe(batch, as_tuples=True, batch_size=len(batch), **kwargs))
        for (_, context), group in groupby(parsed, key=lambda pair: pair[1]):
            docs = [doc for doc, _ in group]
            doc = docs[0] if len(docs) == 1 else Doc.from_docs(docs, ensure_whitespace=False)
            yield (doc, context) if as_tuples else doc

    def __call__(self, text: str):
        return next(self.pipe([text]))

    def __getattr__(self, name: str):
        return getattr(self.nlp, name)


def _batches(pieces: Iterable[tuple[str, object]], size: int, max_chars: int) -> Iterator[list[tuple[str, object]]]:
    """``(text, key)`` pieces in lists of at most ``size`` pieces and ``max_chars`` characters
    (a single longer piece goes alone)."""
    batch: list[tuple[str, object]] = []
    chars = 0
    for piece in pieces:
        if batch and (len(batch) == size or chars + len(piece[0]) > max_chars):
            yield batch
            batch, chars = [], 0
        batch.append(piece)
        chars += len(piece[0])
    if batch:
        yield batch


class DocCache:
    """A spaCy pipeline that parses each distinct text once.

    The coder parses segments and the questions before short answers (often the same texts);
    cross-validation fits one coder per fold and inner fold, so without this the same answer
    would be parsed a dozen times. Parsing is label-free, so sharing parses leaks nothing.
    """

    def __init__(self, nlp):
        self.nlp = nlp
        self._docs: dict[str, object] = {}

    @classmethod
    def around(cls, nlp) -> "DocCache":
        return nlp if isinstance(nlp, cls) else cls(nlp)

    def pipe(self, texts, batch_size: int = 256, **kwargs):
        texts = list(texts)
        missing = list(dict.fromkeys(text for text in texts if text not in self._docs))
        self._docs.update(zip(missing, self.nlp.pipe(missing, batch_size=batch_size, **kwargs)))
        return (self._docs[text] for text in texts)

    def __call__(self, text: str):
        return next(self.pipe([text]))

    def __getattr__(self, name: str):
        return getattr(self.nlp, name)
