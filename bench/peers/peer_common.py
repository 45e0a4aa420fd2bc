"""What the PyTorch peers share: the repetition options the benchmarks pass, and a seeded start on N threads."""


def add_repetition_args(parser):
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)


def seeded_start(torch, args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
