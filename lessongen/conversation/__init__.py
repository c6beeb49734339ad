"""Stage 4, the conversation: prompts, composed messages, the history policy, the dry run and the live run."""
