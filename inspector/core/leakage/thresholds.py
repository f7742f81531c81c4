"""The bars of the confirmation (confirmation.py) and the measurements behind each: how closely
the thumbnails of a pair must agree, at which alignment, in which tone, with how much fine detail
and how spread, for the pair to be taken for a copy. Kept apart from the procedure that applies
them; confirmation.py imports every name here.
"""
from __future__ import annotations

CONFIRM_CORR = 0.96          # thumbnail correlation after removing the mean, best alignment
CONFIRM_FINE = 0.45          # correlation of the fine detail (see _fine)
# Images smaller than the hash grid (GRID = 64 px a side: MNIST digits, CIFAR thumbnails, icons):
# their thumbnail is the whole image upsampled, and distinct look-alikes (two handwritten "1"s)
# correlate up to 0.996 / fine 0.94 there. Measured on 8,000 MNIST digits with 200 planted
# copies: at 0.997 / 0.95 no false pair (and none on all 70,000 digits); JPEG q60 copies 46 of 50,
# +10% brightness 50 of 50, 3% crops 2 of 50, half-size 0 (a 14x14 digit has lost the detail
# that tells it apart).
TINY_CONFIRM_CORR = 0.997
TINY_CONFIRM_FINE = 0.95
# Mirrored alignments double the look-alikes a pair can match (a pier's planks, a curved wall):
# on the 20,000-photo corpus, two distinct cross-split crops confirmed as mirrors at correlation
# 0.961 / 0.968 and fine detail 0.58 / 0.65, while planted mirrored copies score >= 0.998 / 0.994.
# Mirrors are optional (DESIGN section 4), so they must clear a much higher bar.
MIRROR_CONFIRM_CORR = 0.985
MIRROR_CONFIRM_FINE = 0.80
# ... except mirrors that agree almost exactly (NEAR_IDENTICAL_CORR): re-encoded mirrors of smooth
# photos keep fine detail 0.66 there, mirrored look-alikes at that correlation at most 0.22 (the
# benchmark's hard negatives).
MIRROR_IDENTICAL_FINE = 0.55
# ... and mirrors of pictures whose detail sits in a few places (SPREAD_MIN) must share almost all
# of it: one strong structure (a pier's corner in fog, on the left of one shot and the right of
# another) matches its mirror image at 0.997 / fine 0.81, while the planted mirrored copies with
# concentrated detail keep fine detail >= 0.95.
MIRROR_CONCENTRATED_FINE = 0.90
# ... but a mirror shrunk to 0.6-0.9 of its size and re-encoded (the thumbnails of a resized copy
# alias its fine texture differently: 0.96-0.98 even unmirrored) keeps fine detail 0.89-0.93 spread
# over the picture: a centred mirror whose detail is spread (SPREAD_MIN in both) and agrees this
# closely needs only CONFIRM_CORR. The mirrored look-alikes above shared 0.58-0.65; among the
# ~54,000 hard negative pairs of a seed (each image's most alike others, mirrored too) those at
# 0.94 or more with fine detail >= 0.6 all had their detail in a few places (spread <= 0.042).
MIRROR_DETAIL_FINE = 0.88
CONFIRM_TEXTURE = 0.25       # least fine-detail std of the two thumbnails (stretched 0-255 units)
# Smooth pictures (gradients, skies) carry little more than a tone ramp, and a tone change of one
# looks like another of the same ramp: their copies must also agree in tone as before (contrast,
# brightness, colour cast from the table). "Smooth" is fine detail under DETAIL_LEVELS grey levels
# (the fine-detail std of the stretched thumbnail brought back to the image's grey scale): 0-0.25
# for linear gradients, 0.05-0.11 for look-alike skies, 0.1-0.2 for the smoothest 5% of real photos.
DETAIL_LEVELS = 0.30
SMOOTH_CONTRAST_TOLERANCE = 0.30    # per-image std ratio up to 1.30 (a +10% brightness copy: 1.10)
SMOOTH_BRIGHTNESS_TOLERANCE = 0.30  # per-image mean ratio up to 1.30 (on mean + 0.02, 0-1 scale)
SMOOTH_COLOUR_TOLERANCE = 0.08      # per-channel colour cast (channel mean - grey) / (grey + 0.05)
# Fine detail concentrated in a few places (participation ratio under SPREAD_MIN: 0.006-0.07 for
# look-alike sunsets, 0.09-0.33 for skies and walls, 0.07 or more for 90% of photos) must be
# strong (STRONG_LEVELS grey levels) to count.
SPREAD_MIN = 0.07
STRONG_LEVELS = 1.5
TONE_FREE_CORR = 0.980              # a pair in different tones: these instead of CONFIRM_CORR / _FINE
TONE_FREE_FINE = 0.60
# ... or CONFIRM_CORR with fine detail this close: a white-balance change mixes the channels
# differently per colour, so the grey thumbnails of such copies correlate 0.96-0.97 only, with fine
# detail 0.85-0.96; among ~3,500 hard negative photo pairs per seed with detail, one came this
# close (and its detail sat in one spot).
TONE_FREE_DETAIL_FINE = 0.85
# A pair whose thumbnails agree almost exactly is a copy whatever its tone, smoothness or the
# spread of its detail (blurred, sharpened, colour-graded or greyscale copies of smooth pictures):
# on the benchmark's hard negatives (look-alike sunsets, neighbouring crops of a sky) the best
# correlation was 0.995, copies of smooth pictures correlate 0.998-1.000 with fine detail >= 0.7.
NEAR_IDENTICAL_CORR = 0.998
NEAR_IDENTICAL_FINE = 0.70
# ... and in another grey tone (contrast, gamma) if their shared fine detail is more than the
# rounding of the stretched 8-bit thumbnail: linear gradients, which are nothing else, measure 0.26.
IDENTICAL_TONE_TEXTURE = 0.40
# ... or, at a centred alignment, with fine detail this many times the pair's own chance level
# (thumbs.fine_significance), however little of it survived: a smooth picture's fine detail is
# little more than its 8-bit rounding and JPEG noise, and its gamma, contrast or white-balance copies
# correlate 0.998-0.9993 with fine detail 0.46-0.66 (7-11 times their chance level); among ~300
# hard negative photo pairs of one seed correlating >= 0.99 (crops of one smooth photo, skies) at
# most 3.4 times, while look-alike sunsets reach 10 at correlations under 0.995 (their sun disc).
FINE_SIGNIFICANCE = 6.0
# ... and, at a centred alignment, a pair that correlates SIGNIFICANT_CORR or more whose fine detail
# is spread over both pictures (SIGNIFICANT_SPREAD) and stands SIGNIFICANT_Z times its chance level
# is a copy in any tone, however little of the detail survived (SIGNIFICANT_FINE): smooth pictures
# graded in tone or white balance, resized or turned slightly keep faint shared detail 7-12 times
# its chance level at correlations 0.982-0.9997 and fine detail 0.37-0.89. Among ~15,000 hard
# negative photo pairs of seeds 101-303 with their detail that spread (each image's most alike
# others: skies, other shots, crops of one photo) none stood above 4.8 times it at correlations
# of 0.95 or more; look-alike sunsets reach 10, but their detail sits in a few places (spread
# under 0.07), and the shifted maps that set the chance level are what a look-alike resembles.
SIGNIFICANT_CORR = 0.98
SIGNIFICANT_FINE = 0.30
SIGNIFICANT_SPREAD = 0.15
SIGNIFICANT_Z = 7.5
# ... and so at a turned or off-centre alignment, if it agrees more closely (FREE_SIGNIFICANT_CORR):
# such an alignment is the best of many, so look-alikes come closer there. Smooth pictures turned by
# 4-5 degrees and cropped keep fine detail 0.54-0.56 (under TURN_CONFIRM_FINE) at 8-9 times its
# chance level at correlations 0.998-1.000; among ~8,600 hard negative photo pairs of seed 1212
# (each image's 12 most alike others) with spread detail, the turned and off-centre alignments
# reached 6.6 times at correlation 0.992, at most 3.9 times at 0.995 or more.
FREE_SIGNIFICANT_CORR = 0.995
# Pairs whose best centred alignment correlates at least this much are also tried at off-centre
# windows (alignment.py): crops and shifts up to ~15% of a side correlate 0.35-0.95 centred.
WIDE_FLOOR = 0.30
# Pairs still unconfirmed whose best correlation so far is at least this are also tried turned by a
# few degrees (rotation.py): copies turned 1-5 degrees and cropped correlate 0.74-0.96 unturned.
TURN_FLOOR = 0.60
# ... and then turned over the window of the smaller picture's own size (rotation.own_scale_scores:
# a turned copy cropped and not resized; the free search above may find it at a wrong turn and
# window, one that no crop could be). It is tried from TURN_FLOOR, and from WIDE_FLOOR for crops
# that keep less than 1 - MAX_CUT of a side: a wide picture turned by 4-5 degrees loses a third of
# its height to the corners and correlates ~0.5 centred. Both are turned alignments:
TURNED = ("turned", "own turn")
# Below big crops, the own turn is not tried where the free turned search aligned the pair (corr
# TURN_GATE) sharing little fine detail: of 100 held-out turned copies drawn, 21 only the own turn
# confirms; 20 share fine detail 0.48-0.95 at the free search's (wrong) window, one it could not
# align at all (filled corners); look-alike skies and sunsets, most of what reached the own turn,
# share little there.
OWN_GATE_FINE = 0.40
# A turn is one more free parameter of the alignment: turned pairs need more shared fine detail.
# Two crops of one ladybird photo matched turned by 3 degrees at 0.973 / fine 0.46; the planted
# turned copies that confirm turned share 0.66 or more (smooth ones less, and they stay missed).
TURN_CONFIRM_FINE = 0.60
# ... and a turned alignment must be the pair's own transform (residual.misfit): no quarter of
# the picture may agree better by TURN_MISFIT moved a cell or two. Turned, the rim of a fundus
# photo stands in for a zoom: two overlapping crops of one fundus, one a 1.25x zoom of the other
# off-centre, matched turned by 6 degrees at 0.99 / fine 0.70 with a quarter gaining 0.27-0.39;
# turned copies at their own turn gain at most 0.05 (60 held-out turned copies).
TURN_MISFIT = 0.15
# Pairs still unconfirmed that correlate at least this much (in tone curves as strong as gamma 1.8,
# copies correlate >= 0.97) and whose fine detail is above rounding (IDENTICAL_TONE_TEXTURE) are
# compared on their thumbnails' ranks (thumbs.ranked), and confirmed when those agree almost exactly
# (NEAR_IDENTICAL_CORR / _FINE). Ranks equalise every increasing tone curve, so gamma and contrast
# copies of dark or smooth pictures match there; on the benchmark's hard negatives (sunsets, skies,
# crops of one photo) rank fine detail stayed <= 0.41 wherever the rank correlation reached 0.998.
RANK_FLOOR = 0.90
# Photo pairs still unconfirmed after the centred alignments are compared again with one band of
# rows left out (overlay.py: a caption band, a line of watermark text), however little they
# correlate whole: a black caption band with white text on a smooth picture holds most of its
# variance (captioned copies correlated -0.22 to 0.45 whole, 0.997-0.9995 without the band). What is
# left must match as only copies do, and the band must hold most of what the two disagree on. On the
# benchmark's captioned and watermarked copies with detail the rest matched at >= 0.998 / fine >=
# 0.94 with >= 0.83 of the disagreement in the band; among 3,400 hard negative photo pairs (each
# image's most alike others) none reached 0.995 / 0.90 / 0.5 together, but look-alike sunsets did
# with their horizon left out (0.993-0.999 / 0.81-0.98): what is kept must then also have its detail
# spread (SPREAD_MIN: sunsets kept 0.01-0.06) or strong (STRONG_LEVELS).
# A centred crop alignment of UPSCALED_CROP a side or more whose cropped image has more pixels than
# the part of the other it shows is taken only when the fine detail agrees this closely (see
# _centred_crop_fits).
UPSCALED_CROP = 0.02
WINDOW_ASPECT = 0.06          # see _crop_fits: planted crops of photos kept their aspect within 6%
WINDOW_ASPECT_SPREAD = 0.15
UPSCALED_CROP_FINE = 0.70
# An off-centre window is the best of hundreds (alignment.py): one that does not agree almost
# exactly (NEAR_IDENTICAL_CORR) must share this much fine detail. A zoomed-in crop of a fundus photo
# matched another crop of it at a wrong scale (the curved rim fits at many) at 0.991 / fine 0.62;
# the planted window copies with fine detail under 0.70 all correlate 0.999 or more.
WINDOW_FINE = 0.70
# An off-centre window larger than the crop it matches (a crop resized back to the old size) is taken
# with spread detail this close (see _crop_fits): such held-out copies kept 0.89-0.95.
UPSCALED_WINDOW_FINE = 0.88
# ... or, detail in a few places (smooth pictures), when the window agrees almost exactly: look-alike
# sunsets and skies stay under NEAR_IDENTICAL_CORR, a resized-back crop of a smooth sunset matched at
# 0.9996 / fine 0.994.
IDENTICAL_WINDOW_FINE = 0.95
# A window onto a picture whose bars or filled gap were trimmed (a shifted copy, an off-centre
# pad) cannot be held to the size rule: its detail must be spread (WINDOW_ASPECT_SPREAD), or
# somewhat spread (SPREAD_MIN) and agree this closely. Real photos shifted 4-15% (held-out edits,
# 40 draws) with detail spread 0.07-0.15 matched at 0.987-0.998 / fine 0.82-0.96 (3 more found);
# 240 neighbouring crops of one photo, one shifted or padded, came no closer than 0.986 / fine 0.07
# or 0.77 / 0.69; the families seeds' hard negatives at 0.98 or more with spread >= SPREAD_MIN
# shared fine detail 0.74 at most (skies), and those that share 0.95-0.99 at a window (captioned
# look-alikes) keep their detail in a few places (spread <= 0.048).
TRIMMED_WINDOW_CORR = 0.99
TRIMMED_WINDOW_FINE = 0.88
BAND_CORR = 0.995
BAND_FINE = 0.90
BAND_CONCENTRATION = 0.5
# The converse: a centred match whose shared fine detail lies in one band of rows (BORNE_SHARE of
# it, overlay.agreement_band) and that shares almost none outside it (BORNE_FINE) rests on that band
# alone: two different smooth pictures under the same caption, logo or burned-in label match there,
# at correlation 0.96-0.998 and fine detail 0.85-1.00. On 60 such pairs (skies and soft pictures,
# the same caption text) the 43 that the centred pass confirmed kept >= 0.91 of their shared detail
# in the band and <= 0.22 fine detail outside it; of ~580 copies confirmed centred on seeds
# 101-303, two shared so little outside one band (off-centre crops aligned centred).
BORNE_SHARE = 0.85
BORNE_FINE = 0.30
OVERLAY_STRONGER = 1.0       # see _one_band_borne and overlay.overlay_strength
# A pair that shares OVERLAY_SHARE of its fine detail in one band of rows must show that it is one
# picture outside it (see _one_band_borne's `outside`). On families seeds 2727 / 5858 / 6969 the
# planted copies that shared that much in one band had their detail outside it spread (0.31-0.37),
# or strong at >= 0.996, or matched there at >= 0.993 / fine 0.90, or at 0.974 / 0.97 (a watermark
# outside the band); look-alike sunsets under one caption or watermark (the benchmark's and 300
# synthetic pairs) kept concentrated detail there (spread <= 0.15) and at most 0.992 / fine 0.76
# or 0.987 / 0.87.
OVERLAY_SHARE = 0.80
OUTSIDE_CORR = 0.99
OUTSIDE_FINE = 0.88
OUTSIDE_ALL_FINE = 0.95
OUTSIDE_SPREAD = 0.20
BORNE_ROWS = 4
# ... or, as a centred match of a smooth picture may (FINE_SIGNIFICANCE), what is kept agrees almost
# exactly (NEAR_IDENTICAL_CORR) with fine detail that many times its chance level and spread over the
# picture: a caption over a smooth picture leaves the rest with faint detail (fine 0.36-0.88, 5-12
# times its chance level), while of ~780 hard negative photo pairs of seeds 101-303 those that kept
# >= 0.99 without a band and spread detail (crops of one smooth photo, skies, a pair of sunsets at
# 0.9997) were at most 4.3 times theirs (sunsets reach 11-20, with detail in a few places).
# An off-centre window between two files of the same size (within SAME_SIZE px a side) is what a
# crop resized back to the old size and a shifted copy (its gap trimmed or not) look like: the
# size rule cannot hold there, and spread detail (WINDOW_ASPECT_SPREAD) is asked of it otherwise.
# With somewhat spread detail (SPREAD_MIN) such a window is taken when it agrees as closely as
# these copies do: held-out seed 62's off-centre crops resized back and shifts matched at
# 0.989-0.995 / fine 0.82-0.90 with spread 0.07-0.14 (two taken so; one at spread 0.069 and one
# at fine 0.77 are still refused); the hard negatives that come this close at a
# window (look-alike sunsets, two shots of one bridge) keep their detail in a few places (spread
# 0.02-0.045), and the families seeds' spread ones shared fine detail 0.74 at most (skies).
SAME_SIZE = 1
SAME_SIZE_WINDOW_CORR = 0.985
SAME_SIZE_WINDOW_FINE = 0.80
# A colour photo saved as greyscale with other luma weights than the thumbnail's (tools differ:
# any mix of the channels) changes the contrast between coloured regions, not the edges within
# them: such copies correlate only 0.89-0.91 centred while their fine detail agrees at 0.945-0.95
# (held-out seed 62). A centred pair of which one file is grey and the other in colour is taken
# at GREY_MIX_CORR when its spread detail (SPREAD_MIN) agrees this closely and is above the grey
# levels of a smooth picture (DETAIL_LEVELS); the hard negatives that share 0.9 or more of their
# fine detail at any alignment are look-alike sunsets (spread <= 0.045) and other shots at
# correlation 0.978 (spread 0.026).
GREY_MIX_CORR = 0.85
GREY_MIX_FINE = 0.92
