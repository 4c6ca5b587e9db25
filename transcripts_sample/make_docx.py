"""Build interview_06_housing.docx, the sample Word transcript, the same way every time.

The layout is what a transcription service delivers: the speaker's name in bold on its own
line with a timestamp, the turn's paragraphs below it, the service's name in the page header
and a page number in the footer. Everything in it is fictional (see README.md).

Run from the repository root: ``.venv/bin/python transcripts_sample/make_docx.py``.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zipfile import ZipFile

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from qualcode.fsutil import deterministic_zip

OUT = Path(__file__).with_name("interview_06_housing.docx")
HEADER = "Transcribed by Example Transcription Ltd"
FIXED_TIME = datetime(2024, 3, 18, 10, 0, 0)
Q, A = "Interviewer", "Deborah Kinsella"  # who asks, who answers

TURNS = [
    (Q, "00:00:04", "Thanks for making the time. Just to check before we start: you've had the information sheet, "
                    "you've signed the consent form, and you're happy for me to record?"),
    (A, "00:00:15", "Yes, that's all fine. I sent the form back to you last week."),
    (Q, "00:00:21", "Could you start by telling me about your role?"),
    (A, "00:00:26", "So I'm the domestic abuse lead at Harrowfield Homes. We're a housing association, about nine "
                    "thousand homes across Eastmoor and the county, mostly general needs with a few sheltered "
                    "schemes. My job title is tenancy sustainment manager, but in practice two thirds of my week is "
                    "domestic abuse. I hold a small caseload of the most complex cases, I train the neighbourhood "
                    "officers, and I represent us at MARAC.",
                    "I report to Gwen Trelawney, our head of housing services, who has been really supportive, to be "
                    "fair. She got domestic abuse written into our corporate plan, which means I can say no to other "
                    "work."),
    (Q, "00:01:22", "How did housing come to be at the table?"),
    (A, "00:01:27", "Honestly, for years we weren't. Housing associations weren't invited to MARAC at all; it was the "
                    "council's housing options team or nobody. Jolene Prescott, the domestic abuse housing officer "
                    "at the council, was the one who pushed for us to be there. She said to Seun, who coordinates "
                    "the MARAC, half of these women are our tenants or Harrowfield's tenants, so why is nobody from "
                    "Harrowfield in the room? And Seun agreed, and it went from there. We've been attending for about "
                    "three years now.",
                    "But I'd say it still depends on people. If Jolene moved on tomorrow I'm not sure the invitation "
                    "would survive her. It isn't written down anywhere, it's goodwill."),
    (Q, "00:02:31", "What does information sharing look like in practice?"),
    (A, "00:02:36", "It's better than it was, but it's the bit that frustrates me most. Before a MARAC we get the "
                    "research form and the list of cases, and I check our systems for every address. Often we know "
                    "things nobody else knows: the repairs team have been out to a kicked-in door three times, or a "
                    "neighbour has complained about shouting. That's really valuable.",
                    "Getting information back the other way is hard. The police will share with me in the meeting, "
                    "but if I ring afterwards to ask whether a perpetrator has been bailed to an address on one of "
                    "our estates, I'm told they can't discuss it because of GDPR. We've got an information sharing "
                    "agreement that says they can. It's just that the officer on the desk doesn't know that."),
    (Q, "00:03:48", "Are there differences in policy between organisations that get in the way?"),
    (A, "00:03:54", "All the time. Our own policy used to be that a tenant had to end her tenancy and reapply if she "
                    "wanted to move for safety, which meant losing her secure tenancy and going to the back of the "
                    "queue. We changed that two years ago, we now do management transfers, but the council's "
                    "allocations policy still treats a woman in refuge as adequately housed if she has a tenancy "
                    "somewhere else. So their threshold and ours don't line up, and the woman falls into the gap. "
                    "Priya, the IDVA at Eastmoor Women's Aid, has had at least four cases like that this year."),
    (Q, "00:04:47", "How would you describe the relationships between agencies?"),
    (A, "00:04:52", "Mostly good, at the level of the people in the room. I know Rachel Okafor, the DI, well enough "
                    "that I can text her, and she'll ring me back the same day. We trust each other, we've been "
                    "through difficult cases together. Where it breaks down is between organisations, not people. "
                    "The statutory agencies still see housing associations as landlords first, and a landlord's "
                    "interest is assumed to be rent and antisocial behaviour, not safeguarding. So there's a bit of "
                    "suspicion."),
    (Q, "00:05:39", "Do you feel housing has an equal voice?"),
    (A, "00:05:43", "Not really, no. The police and the council commission most of the domestic abuse services, so "
                    "they hold the purse strings and they set the agenda. We don't commission anything; we just "
                    "absorb the cost. If I ask for something at the partnership board, like target hardening for a "
                    "tenant's home, the answer is usually that it's a landlord responsibility, even when the risk "
                    "comes from a police bail decision. And the voluntary sector has it worse than us. The "
                    "specialist services are on one-year contracts and can't afford to fall out with the "
                    "commissioner."),
    (Q, "00:06:40", "Is there a shared sense of purpose across the partnership?"),
    (A, "00:06:45", "At the top, on paper, yes. Everybody signs up to the strategy and we're all on the same page "
                    "about keeping women safe. Underneath that, everyone is measured on different things. The police "
                    "are measured on arrests and charges, the council on homelessness figures, and we're measured on "
                    "rent arrears and void times. So when a woman needs to move quickly, our voids team sees a "
                    "property standing empty for two weeks while the council sorts out the referral, and they get "
                    "cross. I spend a lot of my time translating between those worlds."),
    (Q, "00:07:41", "Can you give me an example of a case where it worked well?"),
    (A, "00:07:46", "There was one last winter, a young mum on the Calder Street estate, where it really came "
                    "together. The hospital IDVA flagged her after an A&E attendance, Seun got her onto MARAC within "
                    "the week, and Jolene and I had a management transfer agreed before the meeting had even "
                    "finished. The police put a marker on the new address and fitted a doorbell camera. She's still "
                    "there and she's doing well. The difference was that everybody already knew each other and "
                    "nobody waited for a form."),
    (Q, "00:08:39", "And one where it didn't?"),
    (A, "00:08:42", "The opposite, really. Same sort of case, a tenant in Corvington, but that month Seun was on "
                    "leave and the cover coordinator didn't know us. Our referral went to the generic council inbox "
                    "and sat there for nine days. By the time anyone picked it up she had moved back in with him. "
                    "I'm not blaming the cover person. The whole thing runs on a few people's goodwill, and when one "
                    "of them is away the process just isn't there."),
    (Q, "00:09:30", "If you could change one thing, what would it be?"),
    (A, "00:09:34", "A named housing lead in every agency's MARAC protocol, written into the procedures, so it "
                    "doesn't depend on me or on Jolene. And proper funding for it. I'd also want a shared record, "
                    "even a simple one, so I'm not chasing the police for information they've already given to three "
                    "other people.",
                    "If anyone wants to follow up, my mobile is 07700 900517, my email is "
                    "d.kinsella@harrowfieldhomes.org.uk, or write to me at our Corvington office, HF2 9LN."),
    (Q, "00:10:21", "That's really helpful. Is there anything else you'd like to add?"),
    (A, "00:10:26", "Only that housing is where women end up, one way or another. If housing isn't part of the "
                    "partnership, the safety plan stops at the front door."),
    (Q, "00:10:38", "Thank you, that's a good place to finish."),
]


def page_number_field():
    """A PAGE field, as Word writes it for "Page 1" in a footer."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    return field


def build() -> bytes:
    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    footer = section.footer.paragraphs[0]
    footer.text = "Page "
    footer._p.append(page_number_field())
    for speaker, timestamp, *paragraphs in TURNS:
        label = document.add_paragraph()
        label.add_run(speaker).bold = True
        label.add_run(f"\t[{timestamp}]")
        for text in paragraphs:
            document.add_paragraph(text)
    properties = document.core_properties
    properties.author = properties.last_modified_by = "Example Transcription Ltd"
    properties.title = "Interview 06"
    properties.created = properties.modified = FIXED_TIME
    raw = io.BytesIO()
    document.save(raw)
    with ZipFile(raw) as archive:  # python-docx stamps each entry with the clock: same script, same bytes
        return deterministic_zip([(entry.filename, archive.read(entry)) for entry in archive.infolist()])


if __name__ == "__main__":
    OUT.write_bytes(build())
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
