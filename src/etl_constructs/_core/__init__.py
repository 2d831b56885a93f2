"""Private helpers every construct shares, in one place.

* :mod:`.props`: :class:`PropsError` and the collect-then-raise-once check of props.
* :mod:`.environment`: :class:`PipelineEnvironment`, what every construct of one pipeline
  shares (suffix, name prefix, compliance profile, keys, network, removal policy, metrics
  namespace), and its resolution against a construct's individual props.
* :mod:`.keys`: the one PipelineKey / DataKey per stack and environment that constructs given
  no key share.
* :mod:`.names`: the app-wide check that no two resources take the same physical name.
* :mod:`.queues`: dead-letter queues. :mod:`.grants`: table and key grants.
* :mod:`.logs`: log groups and their retention. :mod:`.iam`: roles and managed policies.
"""
