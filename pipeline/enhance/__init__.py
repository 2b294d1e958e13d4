"""The face enhancer: GFPGAN 1.4 (ONNX) run on swapped faces after the swap, for either engine.

`model_files` pins the weights; `forward` is the one call into onnxruntime; `enhancer` aligns each
swapped face, enhances it and blends it back inside the face's swap region with a strength.
"""
