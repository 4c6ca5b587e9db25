"""The Presidio analyzer qualcode runs: a local spaCy model, NER only, and UK recognizers.

Presidio's stock spaCy engine downloads a missing model; qualcode's never does, and stops with
a clear error instead (fail closed). Only the components the named-entity recognizer needs run:
in ``en_core_web_sm`` the NER has its own internal tok2vec, so the shared tok2vec, tagger,
parser, attribute ruler and lemmatizer are all switched off. Presidio's context boosting reads
``token.lemma_``; with the lemmatizer off that is empty, so a tiny component sets the lemma to
the lower-cased word and boosting keeps working.
"""

from __future__ import annotations

import logging
from functools import cache

from ..errors import QualcodeError
from ..register import Register
from .recognizers import SPACY_LABELS, RoleLexicon, build_recognizers

LANGUAGE = "en"
LOWER_LEMMA = "qualcode_lower_lemma"

for _name in ("presidio-analyzer", "presidio-anonymizer", "tldextract", "filelock"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@cache
def _register_lower_lemma() -> None:
    from spacy.language import Language

    @Language.component(LOWER_LEMMA)
    def lower_lemma(doc):
        """Lemma = lower-cased word, for Presidio's context words when the lemmatizer is off."""
        for token in doc:
            token.lemma_ = token.lower_
        return doc


def load_spacy(model: str):
    """Load an installed spaCy package or model folder; never download. Fails closed."""
    import spacy

    try:
        return spacy.load(model)
    except (OSError, IOError, ValueError, ImportError) as error:
        reason = "it is not installed and is not a model folder" if "E050" in str(error) else type(error).__name__
        raise QualcodeError(f"cannot load the spaCy model {model!r}: {reason}. Install it or pass --model "
                            "with an installed model name or path; nothing was written") from None


def components_for(nlp, target: str) -> list[str]:
    """``target`` plus every component it listens to (a shared tok2vec or transformer)."""
    needed = [target]
    for name, component in nlp.pipeline:
        if target in getattr(component, "listening_components", ()):
            needed.append(name)
    return needed


def ner_only(nlp):
    """Run only what NER needs, and supply lower-case lemmas for Presidio's context words."""
    if "ner" not in nlp.pipe_names:
        raise QualcodeError(f"the spaCy model {nlp.meta.get('name', '?')!r} has no 'ner' component")
    keep = components_for(nlp, "ner")
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in keep])
    _register_lower_lemma()
    nlp.add_pipe(LOWER_LEMMA, last=True)
    return nlp


def build_analyzer(model: str, register: Register, lexicon: RoleLexicon):
    """An ``AnalyzerEngine`` over a local NER-only spaCy pipeline and qualcode's recognizers."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    nlp = ner_only(load_spacy(model))

    class LocalSpacyNlpEngine(SpacyNlpEngine):
        """Presidio's spaCy engine over an already-loaded pipeline: ``load`` never downloads."""

        def load(self) -> None:
            self.nlp = {LANGUAGE: nlp}

    ner_config = NerModelConfiguration(model_to_presidio_entity_mapping=dict(SPACY_LABELS),
                                       labels_to_ignore=[], low_score_entity_names=[])
    engine = LocalSpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": model}],
                                 ner_model_configuration=ner_config)
    engine.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in build_recognizers(register, lexicon):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[LANGUAGE])
