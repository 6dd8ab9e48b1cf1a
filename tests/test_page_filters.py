"""AppTest for the Filters page: change its controls, check the numbers it shows."""

from apptest_support import open_page

PAGE = "pages/filters.py"


def patch_sum(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Sum of patch x filter"))


def test_patches_give_the_tutorials_8_and_0():
    at = open_page(PAGE)
    assert at.title[0].value == "Filters"
    assert patch_sum(at).endswith("**8**")  # (1 + 2 + 1) - (-1 - 2 - 1)
    for name in ("vertical edge", "one-pixel line through the centre", "flat region"):
        at.radio(key="filters_patch").set_value(name).run()
        assert patch_sum(at).endswith("**0**"), name
    at.radio(key="filters_patch").set_value("my own patch").run()
    assert patch_sum(at).endswith("**8**")  # the editor starts from the horizontal edge
    assert any("(a + 2b + c) - (a + 2b + c) = 0" in x.value for x in at.latex)


def test_a_single_pixel_line_comes_out_as_two_signed_rows():
    at = open_page(PAGE)
    text = " ".join(m.value for m in at.markdown)
    assert "bottom row: **-4**" in text and "top row: **4**" in text


def test_edges_of_a_flat_image_appear_only_at_the_padded_border():
    at = open_page(PAGE)
    before = next(c.value for c in at.caption if c.value.startswith("Horizontal edges"))
    at.selectbox(key="filters_sample").set_value("checkerboard").run()
    at.slider(key="filters_size").set_value(8).run()
    # The checkerboard averages to a flat 0.5 at 8x8. Inside, every window cancels; along the
    # top row the zero padding gives -(0.5 + 2 x 0.5 + 0.5) = -2, along the bottom +2.
    after = next(c.value for c in at.caption if c.value.startswith("Horizontal edges"))
    assert after.startswith("Horizontal edges from -2 to 2; vertical edges from -2 to 2.")
    assert after != before
