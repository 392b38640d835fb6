WARNING! Your password will be stored unencrypted in /tmp/p11cli/wcfg/config.json.
Configure a credential helper to remove this warning. See
https://docs.docker.com/engine/reference/commandline/login/#credentials-store

