"""The matting stage: from a segmentation probability to a true alpha matte and clean colours.

    trimap.py        sure foreground / background and the unknown band, from the probability
    closed_form.py   alpha in the band (closed-form matting, sparse, band only)
    guided_filter.py fallback estimate, and the upsampling to full resolution
    foreground.py    foreground colours without the old background's halo
    refine.py        the order these run in, at which resolution
"""
from .refine import MattingSettings, refine_matte

__all__ = ["MattingSettings", "refine_matte"]
