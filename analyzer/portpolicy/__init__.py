"""In-cluster port policy: host-firewall rules by node role, read from the documents operators hand over,
and checked against the node-to-node flows a capture shows (issue 16).

``model`` is the one rule model every reader produces; ``readers`` detects a document's kind and reads
it (``artesca``, ``stackato``, ``calico`` for Calico and Kubernetes YAML, ``csvfile``); ``roles`` maps
addresses to roles; ``check`` evaluates flows with Calico's semantics; ``export`` writes the policy the
observed flows justify.
"""
