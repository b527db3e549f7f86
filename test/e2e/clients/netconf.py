#!/usr/bin/python3
"""A NETCONF client nobody here wrote (ncclient, Debian's python3-ncclient) against a lab router.
   netconf.py HOST USER PASSWORD STEP...  prints one JSON line per step:
   get-config | edit-commit DESCRIPTION | sa | wrong-password"""
import json, sys
from ncclient import manager
from ncclient.transport.errors import AuthenticationError
from lxml import etree

host, user, password, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def connect(pw):
    return manager.connect(host=host, port=830, username=user, password=pw, hostkey_verify=False,
                           allow_agent=False, look_for_keys=False, timeout=20)
for step in steps:
    if step == 'wrong-password':
        try:
            connect(password + 'x').close_session()
            print(json.dumps({'step': step, 'refused': False}))
        except AuthenticationError as e:
            print(json.dumps({'step': step, 'refused': True, 'error': str(e)}))
        continue
    with connect(password) as m:
        if step == 'get-config':
            c = m.get_config(source='running', filter=('subtree', '<configuration><system><host-name/></system></configuration>'))
            print(json.dumps({'step': step, 'caps': sorted(m.server_capabilities), 'reply': c.xml}))
        elif step.startswith('edit-commit='):
            desc = step.split('=', 1)[1]
            cfg = f'<config><configuration><interfaces><interface><name>fe-0/0/1</name><description>{desc}</description></interface></interfaces></configuration></config>'
            with m.locked('candidate'):
                m.edit_config(target='candidate', config=cfg)
                m.validate(source='candidate')
                m.commit()
            print(json.dumps({'step': step, 'ok': True}))
        elif step == 'sa':
            r = m.dispatch(etree.fromstring('<get-security-associations-information/>'))
            print(json.dumps({'step': step, 'reply': r.xml}))
