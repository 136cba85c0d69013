"""GAN inversion: a face image → the z whose generated face looks most like it (issue #23).

Hybrid, as In-Domain GAN inversion (Zhu et al. 2020) and the BiGAN/ALI encoders (Donahue et al. 2017; Dumoulin et
al. 2017) do it: an encoder E (`encoder.py`, trained by `train.py` on pairs (z, G(z)) and on real faces through
G) gives a first z in one forward pass, then a short optimization of z (`refine.py`) pulls G(z) closer to the
photo, inside the prior's box. The perceptual term uses the bundle's own discriminator (`features.py`): LPIPS
cannot be used offline, its backbone weights are downloaded at run time. `runtime.Inverter` loads it all from a
bundle's `encoder/` folder.
"""
