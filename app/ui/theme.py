"""Look and feel: a warm theme on Gradio's bundled fonts (no request leaves for a font CDN), and CSS
that keeps the page readable from phone width up."""

from __future__ import annotations

import gradio as gr

HEADER_HTML = """
<div class="cs-header">
  <div class="cs-logo" aria-hidden="true">♥</div>
  <div>
    <h1>CoSwap</h1>
    <p>Put a couple into a wedding or group photo, or into your own: upload two photos, pick templates, swap.</p>
  </div>
</div>
"""

FOOTER_NOTE = (
    "Every result carries a visible **AI-generated** mark. Only swap people who agreed to it. "
    "Your photos and results are visible to this browser only."
)

CSS = """
.gradio-container { max-width: 1120px !important; margin: 0 auto !important; }
.cs-header { display: flex; gap: 14px; align-items: center; padding: 6px 2px 0; }
.cs-header h1 { margin: 0; font-size: 1.9rem; letter-spacing: -0.02em; }
.cs-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.cs-logo { width: 46px; height: 46px; border-radius: 14px; display: grid; place-items: center; flex: none;
  font-size: 24px; color: #fff; background: linear-gradient(135deg, #f43f5e, #f59e0b); }
.cs-engine { font-size: 0.86rem; color: var(--body-text-color-subdued); }
.cs-banner { background: #fff7ed; border: 1px solid #fdba74; border-radius: 10px; padding: 6px 12px;
  font-size: 0.9rem; color: #7c2d12; }
.prose.cs-banner { border: 0 !important; padding: 0 !important; background: none !important; }  /* the box is the block's */
.cs-engine .cs-dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%;
  background: #22c55e; margin-right: 6px; vertical-align: middle; }
.cs-hint { opacity: 0.85; }
.cs-ok { color: #15803d; font-weight: 600; }
.cs-refused { color: #b91c1c; font-weight: 600; }
.cs-note { color: var(--body-text-color-subdued); font-size: 0.9em; }
.cs-status { min-height: 1.5em; }
.cs-progress { padding: 10px 12px; border-radius: 12px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); }
.cs-progress-head { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 6px; margin-bottom: 8px; }
.cs-progress-head span { color: var(--body-text-color-subdued); font-size: 0.88em; }
.cs-bar { display: flex; height: 10px; border-radius: 999px; overflow: hidden; background: var(--neutral-200); }
.cs-bar-done { background: linear-gradient(90deg, #f43f5e, #f59e0b); transition: width .3s ease; }
.cs-bar-failed { background: #ef4444; opacity: .55; }
.cs-face-card { min-width: 112px !important; }
.cs-mapping-card { border: 1px solid var(--border-color-primary) !important; border-radius: 14px !important;
  padding: 10px !important; background: var(--block-background-fill) !important; margin-bottom: 12px; }
.cs-run-row { align-items: center; }
.cs-footer { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.cs-slider-title { overflow: visible !important; }
#before-after { position: relative; }
footer .divider { display: none; }  /* Gradio puts a separator after the one footer link */
#before-after:has(img)::before, #before-after:has(img)::after { position: absolute; bottom: 10px; z-index: 50;
  padding: 2px 10px; border-radius: 999px; background: rgba(0, 0, 0, 0.6); color: #fff; font-size: 0.8rem;
  pointer-events: none; }
#before-after:has(img)::before { content: "Before"; left: 10px; }
#before-after:has(img)::after { content: "After"; right: 10px; }
/* galleries grow with their items (Gradio caps them at 55vh with a scroll inside) */
#results-gallery .grid-wrap, #template-gallery .grid-wrap, #own-gallery .grid-wrap {
  max-height: none !important; min-height: 0 !important; overflow-y: visible !important;
  padding-top: 2.4rem !important; }  /* the label chip sits above the pictures, not over them */
/* a result keeps its own shape: no blank band around a landscape photo in a square cell */
#results-gallery .thumbnail-item { aspect-ratio: auto; height: auto; }
#results-gallery .thumbnail-item > img { height: auto; }
/* Gradio heads every error toast "Error" (gr.Error's title is not shown): ours are refusals */
.toast-title.error { font-size: 0 !important; }
.toast-title.error::before { content: "Not possible"; font-size: var(--text-md); }
.cs-hint-box { padding: 10px 12px; border-radius: 12px; border: 1px dashed var(--border-color-primary); }
@media (max-width: 640px) {
  .cs-banner, .cs-banner * { font-size: 0.78rem !important; line-height: 1.3 !important; }
  .cs-banner { padding: 2px 6px !important; }
  .cs-header p { display: none; }
  .cs-header h1 { font-size: 1.5rem; }
  .cs-header p { font-size: 0.9rem; }
  .gradio-container { padding: 0 8px !important; }
  .cs-face-card { min-width: 96px !important; }
  /* "Enhance faces" and its strength: one above the other, each the full width */
  #enhance, #enhance-strength { flex: 1 1 100% !important; min-width: 100% !important; }
}
"""


def make_theme() -> gr.themes.Base:
    return gr.themes.Soft(
        primary_hue="rose",
        secondary_hue="amber",
        neutral_hue="stone",
        radius_size="lg",
        font=(gr.themes.LocalFont("Lexend"), "ui-sans-serif", "system-ui", "sans-serif"),
    ).set(
        button_primary_background_fill="linear-gradient(90deg, *primary_500, *secondary_500)",
        button_primary_background_fill_hover="linear-gradient(90deg, *primary_600, *secondary_600)",
        button_primary_text_color="white",
        block_title_text_weight="600",
        button_cancel_background_fill="#fff1f2",
        button_cancel_background_fill_hover="#ffe4e6",
        button_cancel_text_color="#be123c",
        button_cancel_text_color_hover="#9f1239",
        button_cancel_border_color="#fecdd3",
    )
