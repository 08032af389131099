"""lad_ros: Latent Action Diffusion on a ROS 2 robot cell."""
__version__ = "0.1.0"
