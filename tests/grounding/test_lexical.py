"""Word-level helpers: stems, numbers, negation, rarity."""

from __future__ import annotations

from cujeval.grounding import lexical


def test_stem_maps_inflections_together() -> None:
    assert lexical.stem("nucleotides") == lexical.stem("nucleotide")
    assert lexical.stem("boiling") == lexical.stem("boil") == lexical.stem("boiled")
    assert lexical.stem("berries") == lexical.stem("berry")
    assert lexical.stem("glass") == "glass"


def test_content_stems_drop_stop_and_meta_words() -> None:
    assert lexical.content_stems("Passage 2 mentions that the eggs are boiled") == [
        lexical.stem("eggs"),
        lexical.stem("boiled"),
    ]


def test_numbers_are_normalised() -> None:
    assert lexical.numbers("It costs $1,200.50 for nine people, 2.0 kg") == {"1200.5", "9", "2"}


def test_list_labels_and_unit_conversions_are_not_claimed_numbers() -> None:
    text = "Repeat step 4 and 5 (Option 2): it is 58 degrees Fahrenheit (15 degrees Celsius)."
    assert lexical.numbers(text) == {"58"}
    assert "15" in lexical.quantities(text)


def test_negation() -> None:
    assert lexical.negated("It doesn't work")
    assert lexical.negated("Never boil it")
    assert not lexical.negated("It works well")


def test_rarity_orders_common_before_rare_words() -> None:
    assert lexical.rarity("the") == 0.0
    assert lexical.rarity("important") < lexical.rarity("crucial") < lexical.rarity("gingivitis")
    assert lexical.rarity("zzqxv") == 1.0


def test_a_bare_contraction_is_one_word() -> None:
    """Dialogue text tokenised as "don ' t" / "n't" once crashed content_words."""
    assert lexical.words("n't isn't") == ["n't", "is", "n't"]
    assert lexical.content_words("they n't know") == [("n't", "n't"), ("know", "know")]
