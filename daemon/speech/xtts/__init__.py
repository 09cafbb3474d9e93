"""The XTTS v2 cloning engine in one package: `engine` (the `Engine` the factory builds), `model` (find, load
and share the model), `latents` (speaker latents, cached), `stream` (VoxTray's sentence streamer), `tokens`
(the GPT token generator) and `vocoder` (windowed HiFi-GAN). Nothing here is imported until XTTS is wanted."""
