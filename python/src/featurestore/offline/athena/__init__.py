"""athena"""
