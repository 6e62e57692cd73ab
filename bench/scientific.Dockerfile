# The "real image" of issue 5's engine benchmark (bench/real_image.py build): a Debian 12
# base made by debootstrap (--variant=minbase, imported as BASE), then 4 RUN steps, each a
# layer. Python's Debian packages byte-compile on install, so steps 1-3 leave thousands of
# .pyc files under __pycache__/ that step 4 deletes again: its layer is mostly whiteouts,
# and the bytes of the deleted files stay in the image (what dive calls wasted space).
ARG BASE=divepy-bench/debian:bookworm
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8

# 1: the interpreter (apt lists stay until step 4, so steps 2-3 need no update)
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip python3-venv ca-certificates

# 2: the numeric stack
RUN apt-get install -y --no-install-recommends python3-numpy python3-scipy

# 3: a compiler and plotting (with recommends: fonts, Tk, Pillow, ... as a desktop install has)
RUN apt-get install -y gcc g++ python3-dev python3-matplotlib

# 4: drop the byte code and the apt lists (thousands of whiteouts in this layer)
RUN find / -xdev -name '*.pyc' -delete \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
