#!/usr/bin/env bash
# README command 1: the MB2-C lab (lab BM-SC + GCS AS over mutual TLS).
echo "lab: not yet available (the lab BM-SC and GCS AS client are issue 3)"
exit 0
