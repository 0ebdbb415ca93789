# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for se01 (Front End pool, pool se)
# topology `sfbse-edge-nat`, scenarios: reverse-proxy, director-single, sfb-edge-nat, sfb-video-screen-sharing
# run in an elevated PowerShell on se01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r16' -DisplayName 'portplan HTTP TCP 8080 in' -Description 'Lync/Skype for Business: plan rules r16; catalog reverse-proxy/internal-interface#1' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 8080 -LocalAddress @('192.168.10.21') -RemoteAddress @('172.25.33.40') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r17' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r17; catalog reverse-proxy/internal-interface#2' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('192.168.10.21') -RemoteAddress @('172.25.33.40') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-444' -DisplayName 'portplan HTTPS TCP 444 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 444 -LocalAddress @('192.168.10.21') -RemoteAddress @('192.168.10.11') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-5065' -DisplayName 'portplan TCP TCP 5065 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog sfb-video-screen-sharing/server-ports#1' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 5065 -LocalAddress @('192.168.10.21') -RemoteAddress @('192.168.0.0/16') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-49152-65535' -DisplayName 'portplan RTP TCP 49152-65535 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog sfb-video-screen-sharing/server-ports#2' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 49152-65535 -LocalAddress @('192.168.10.21') -RemoteAddress @('192.168.0.0/16') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-udp-49152-65535' -DisplayName 'portplan RTP UDP 49152-65535 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog sfb-video-screen-sharing/server-ports#3' -Direction Inbound -Action Allow -Profile Any -Protocol UDP -LocalPort 49152-65535 -LocalAddress @('192.168.10.21') -RemoteAddress @('192.168.0.0/16') | Out-Null

Write-Host 'portplan: 6 rule(s) in group portplan on se01'
