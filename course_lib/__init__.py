"""course_lib: numpy reference implementation for the backprop course.

Submodules: gradcheck, layers, optim, autograd (scalar Value engine), gates (modular API),
geometry (conv_output_size, receptive_field), nn (layer objects and models), trainer,
datasets, plotting, plotting_graph (draws a Value graph), transfer (pretrained ConvNet,
class splits, linear probe, Grad-CAM).
"""
