"""The safety notice hears fear in the words people use, and leaves everyday speech alone.

A table of sentences that must bring the private notice and everyday sentences that must not,
with the matcher's precision and recall on it. The table is the specification of
backend/content/safety_phrases.yaml: a change there comes with a sentence here.
"""

from __future__ import annotations

import time

import pytest

from backend.safety import phrases
from backend.safety.service import signals_harm

# Sentences a person might write about a partner that must bring the notice, by the kind of
# danger they speak of. Pronouns, contractions (straight and curly), tenses and word order vary.
MUST_NOTICE: dict[str, list[str]] = {
    "fear": [
        "I am afraid he will hurt me.",
        "I'm afraid of him.",
        "I\u2019m scared of my husband.",
        "im so scared of her lately",
        "I'm terrified she'll hurt the kids.",
        "I am so scared to go home tonight.",
        "I'm frightened of what he might do if I leave.",
        "I was afraid he was going to kill me.",
        "I don't feel safe at home.",
        "I do not feel safe around her anymore.",
        "I fear for my life.",
        "He scares me when he drinks.",
        "She frightens me.",
        "He makes me feel unsafe.",
        "I\u2019m scared he\u2019ll hit me again.",
        "I'm scared of what my partner will do when he finds out.",
        "I feel like I am in danger.",
        "I've been afraid of my wife for years.",
        "I'm walking on eggshells all the time.",
        "I'm afraid to be alone with him.",
        "I'm afraid of how he'll react if I say no.",
    ],
    "threat": [
        "He threatened to kill me.",
        "She threatens to hurt herself if I go out.",
        "He has threatened to take the kids away.",
        "He threatened to post my pictures online.",
        "She said she would kill me if I ever left.",
        "He told me he'd hurt me if I told anyone.",
        "He keeps threatening me.",
        "He threatened me with a knife.",
        "My boyfriend threatened to hurt my dog.",
        "He said he will hurt me if I leave.",
        "He threatened to hurt me if I told anyone.",
        "She pulled a knife on me.",
        "My ex threatens to have me deported.",
    ],
    "harm": [
        "He hit me last night.",
        "She slapped me during the argument.",
        "He pushed me into the wall.",
        "He shoved me down the stairs.",
        "He choked me.",
        "She strangled me until I blacked out.",
        "He put his hands around my neck.",
        "He grabbed me by the arm so hard it bruised.",
        "He has been hitting me for months.",
        "He kicked me.",
        "They hit me when they are angry.",
        "My wife hits me.",
        "He forced me to have sex.",
        "She pressured me into sex when I said no.",
        "He raped me.",
        "He locked me in the bedroom.",
        "He threw a plate at me.",
        "I want to kill myself.",
        "I've been thinking about ending my life.",
        "Sometimes I want to die.",
    ],
    "control": [
        "He won't let me see my friends.",
        "She doesn\u2019t let me leave the house.",
        "He wont let me have my own money.",
        "I have to ask his permission to buy anything.",
        "I'm not allowed to see my family.",
        "He controls all my money.",
        "She took my phone and my car keys.",
        "He cut me off from my friends.",
        "He makes me share my passwords.",
        "She demands my passcode every night.",
        "He decides who I can see.",
    ],
    "monitoring": [
        "He checks my phone every night.",
        "She goes through my messages when I'm asleep.",
        "He reads my texts.",
        "He tracks my location.",
        "She put a tracker on my car.",
        "He installed spyware on my phone.",
        "He follows me to work.",
        "She always shows up wherever I go.",
        "He makes me keep my location on all the time.",
        "He calls me constantly to check where I am.",
    ],
}

# Everyday sentences, many close to the ones above in wording, that must not bring a notice.
MUST_NOT_NOTICE: list[str] = [
    "I'm afraid I was unfair to her.",
    "He hurt his knee playing football.",
    "I'm afraid we're out of milk.",
    "She hurt my feelings when she forgot our anniversary.",
    "He really hurt me when he lied.",
    "My wife is going to kill me when she sees the bill.",
    "I was scared of the dark as a kid.",
    "I'm afraid of spiders.",
    "He threatened to leave if we kept fighting.",
    "I checked his phone last night and felt awful about it.",
    "She won't let me pay for dinner.",
    "He won't let me forget that joke.",
    "I'm afraid of heights.",
    "We hit a rough patch this spring.",
    "He hit the ball over the fence.",
    "She pushed me to apply for the job.",
    "He grabbed me a coffee on the way home.",
    "I'm scared I'm not good enough for her.",
    "I'm afraid I'll mess this up again.",
    "She's afraid of flying.",
    "I was afraid to tell her how much I missed her.",
    "The movie scared me.",
    "He killed it at his presentation.",
    "I could kill for a pizza right now.",
    "Her mom is controlling but we're handling it.",
    "He tracks my runs with his fitness app.",
    "We share our locations because we both like it.",
    "She reads my blog every week.",
    "He checks my spelling before I send emails.",
    "I follow her on Instagram.",
    "He follows me on Instagram.",
    "I threatened to throw out his old sneakers.",
    "She threatened to cancel Netflix.",
    "I hurt myself at the gym.",
    "I'm dying to see you.",
    "He never lets me win at chess.",
    "My partner asked permission before reading my journal.",
    "I feel safe with him now.",
    "I don't feel safe driving in the snow.",
    "I was terrified before the exam.",
    "She choked on her food and we laughed about it later.",
    "The traffic is killing me.",
    "I love him and I'm not afraid to say it.",
    "I'm not afraid of him anymore.",
    "My kids are scared of the dog.",
    "He's afraid of commitment.",
    "I hit my head on the cupboard.",
    "She texted me all day to say she loves me.",
    "I'm worried I hurt her when I said that.",
    "He controls the TV remote, ha.",
    "I'm afraid so.",
    "I'm afraid I can't make it to dinner.",
    "I'm afraid that I'm becoming jealous.",
    "I'm afraid she will leave me.",
    "Sometimes I'm scared he doesn't love me anymore.",
    "I wanted to die of embarrassment.",
    "He pushed me on the swing at the park.",
    "We both read each other's letters from that year, with permission.",
    "I'm scared to tell him I lost my job.",
    "She takes my advice seriously now.",
    "He called me twice to ask what we needed from the shop.",
    "I hit him with a pillow and we both laughed.",
    "I'm frightened by how much I still love him.",
    "He asked for my wifi password.",
]

POSITIVES = [(kind, s) for kind, sentences in MUST_NOTICE.items() for s in sentences]


def scores() -> tuple[float, float, list[str], list[str]]:
    """Precision and recall of the matcher on the table, and the sentences it got wrong."""
    missed = [s for _, s in POSITIVES if not signals_harm(s)]
    false_alarms = [s for s in MUST_NOT_NOTICE if signals_harm(s)]
    true_positives = len(POSITIVES) - len(missed)
    precision = true_positives / (true_positives + len(false_alarms))
    recall = true_positives / len(POSITIVES)
    return precision, recall, missed, false_alarms


def test_the_table_is_big_enough():
    assert len(POSITIVES) >= 60 and len(MUST_NOT_NOTICE) >= 60
    assert len({s for _, s in POSITIVES} | set(MUST_NOT_NOTICE)) == len(POSITIVES) + len(
        MUST_NOT_NOTICE
    )


def test_precision_and_recall_on_the_table(capsys):
    precision, recall, missed, false_alarms = scores()
    with capsys.disabled():
        print(
            f"\nsafety notice matcher: {len(POSITIVES)} must notice, {len(MUST_NOT_NOTICE)} "
            f"must not; precision {precision:.3f}, recall {recall:.3f}"
        )
    # The table is the specification: every sentence in it is held, both ways.
    assert missed == [] and false_alarms == []
    assert precision == 1.0 and recall == 1.0


@pytest.mark.parametrize(("kind", "sentence"), POSITIVES)
def test_each_sentence_is_heard_as_its_kind(kind, sentence):
    assert phrases.signal_category(sentence) == kind


@pytest.mark.parametrize("sentence", MUST_NOT_NOTICE)
def test_everyday_sentences_bring_no_notice(sentence):
    assert phrases.signal_category(sentence) is None


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("I\u2019m  SCARED\nof him!", "i am scared of him"),
        ("He\u2018ll  won\u2019t can't", "he will will not can not"),
        ("\uff48\uff45 \uff48\uff49\uff54 \uff4d\uff45", "he hit me"),
        ("self-harm", "self harm"),
        ("im gonna", "i am going to"),
    ],
)
def test_the_normalizer(written, normalized):
    assert phrases.matcher().normalize(written) == normalized


def test_the_matcher_is_compiled_once_and_is_fast():
    assert phrases.matcher() is phrases.matcher()
    long_text = " ".join(MUST_NOT_NOTICE) * 5
    started = time.perf_counter()
    for _ in range(20):
        assert not signals_harm(long_text)
    # Generous: about 25,000 words read twenty times; this takes milliseconds normally.
    assert time.perf_counter() - started < 5


def test_broken_phrase_data_is_refused():
    with pytest.raises(ValueError, match="unknown class"):
        phrases.build_matcher(
            {"patterns": {c: ["@nowhere"] for c in phrases.CATEGORIES}, "classes": {}}
        )
    with pytest.raises(ValueError, match="no patterns"):
        phrases.build_matcher({"patterns": {}, "classes": {}})
    with pytest.raises(ValueError, match="broken"):
        phrases.build_matcher({"patterns": {c: ["("] for c in phrases.CATEGORIES}})


def test_the_phrases_are_compiled_when_the_app_is_built_not_by_the_first_writer():
    from backend import create_app
    from tests.conftest import TEST_SETTINGS

    phrases.matcher.cache_clear()
    create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    assert phrases.matcher.cache_info().currsize == 1
