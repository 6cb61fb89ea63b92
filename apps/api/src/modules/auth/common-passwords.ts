/**
 * Passwords seen most often in public breach corpora and "worst passwords" lists (plus
 * product-specific guesses: the name of this app, monitoring tools, seasons and years).
 * Compared in lower case; see password-policy.ts for the variants that are also refused.
 */
const LIST = `
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball
abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang
1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer
trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew tigger
sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel starwars klaster 112233
george computer michelle jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777
pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer love ashley nicole
chelsea biteme matthew access yankees 987654321 dallas austin thunder taylor matrix
minecraft william corvette hello martin heather secret merlin diamond 1234qwer gfhjkm
hammer silver 222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet
scooter orange 11111 golfer cookie richard samantha bigdog guitar jackson whatever mickey
chicken sparky snoopy maverick phoenix camaro peanut morgan welcome falcon cowboy ferrari
samsung andrea smokey steelers joseph mercedes dakota arsenal eagles melissa boomer booboo
spider nascar monster tigers yellow xxxxxx 123123123 gateway marina diablo bulldog qwer1234
compaq purple hardcore banana junior hannah 123654 porsche lakers iceman money cowboys
987654 london tennis 999999 ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon
yamaha chester mother forever johnny edward 333333 oliver redsox player nikita knight
fender barney midnight please brandy chicago badboy slayer rangers charles angel flower
bigdaddy rabbit wizard jasper enter rachel chris steven winner adidas victoria natasha
1q2w3e4r jasmine winter prince panties marine ghbdtn fishing cocacola casper james 232323
raiders 888888 marlboro gandalf asdfasdf crystal 87654321 12344321 golden 8675309 blowme
nirvana fuckyou pussy bigdick shaved 1q2w3e q1w2e3 zaq12wsx abcd1234 aa123456 password1
password12 password123 password1234 password12345 passw0rd p@ssw0rd p@ssword p@$$w0rd
pa55word pa55w0rd passwort motdepasse contrasena senha parola haslo wachtwoord salasana
adgangskode losenord heslo jelszo sifre пароль 12qwaszx 1qazxsw2 qazwsxedc qwertyui
qwerty12 qwerty123 qwerty1234 qwertyu qwerty1 qwe123 qweasdzxc qweasd123 asdf1234 asdfghjk
asdfghjkl zxcvbnm1 zxcvbnm123 1qaz2wsx3edc 1q2w3e4r5t 1q2w3e4r5t6y 1q2w3e4r5t6y7u8i
q1w2e3r4t5y6 a1b2c3d4 a1s2d3f4 abcdefg abcdefgh abcdefghi abc12345 abc123456 abcd12345
123abc 123abc123 1a2b3c4d 00000000 000000000 0000000000 111111111 1111111111 12341234
12121212 12345678910 123456789a 123456789q 1234567899 123456780 1234567891 123456788
123456789123 1234512345 1231231234 123454321 1234554321 12345qwert 123qweasd 123qweasdzxc
1q2w3e4r5 147258369 147852369 159357 159753456 741852963 789456123 963852741 321654987
98765432 9876543210 0987654321 11223344 112233445566 22222222 33333333 44444444 55555555
66666666 77777777 99999999 12qw12qw aaaaaaaa aaaa1111 zzzzzzzz qqqqqqqq 123456a 123456aa
a123456 a1234567 a12345678 a123456789 q123456 q1234567 q12345678 iloveyou1 iloveyou2
iloveyou! iloveu iloveyou123 loveyou lovely loveme love123 lovelove sunshine1 princess1
football1 baseball1 welcome1 welcome123 welcome2 letmein1 letmein123 admin admin1 admin12
admin123 admin1234 admin12345 administrator administrador root toor root123 rootroot
changeme changeme1 changeit default guest guest123 user user123 test123 test1234 testing
testtest demo demo123 temp temp123 temppass secret123 master123 dragon123 monkey123
shadow123 superman1 batman123 starwars1 whatever1 computer1 internet1 michael1 jennifer1
jordan23 michael23 charlie1 football123 soccer123 hockey123 baseball123 master1 access14
mustang1 shadow1 killer123 hunter2 hunter123 hello123 hello1234 helloworld hello1 freedom1
ginger1 pepper1 buster1 tigger1 maggie1 ashley1 jessica1 nicole1 daniel1 andrew1 thomas1
robert1 matthew1 joshua1 jordan1 summer1 summer2020 summer2021 summer2022 summer2023
summer2024 summer2025 winter2020 winter2021 winter2022 winter2023 winter2024 winter2025
spring2023 spring2024 spring2025 autumn2024 fall2024 password2020 password2021 password2022
password2023 password2024 password2025 password2026 welcome2023 welcome2024 welcome2025
company123 company1 office123 letmeinnow opensesame openup openme access123 login login123
logmein mypassword mypass mypass123 yourpassword nopassword nopass noaccess secure
secure123 security security1 private private1 confidential password! password1!
password@123 password123! passw0rd1 p@ssw0rd1 p@ssw0rd123 pass123 pass1234 pass12345
passpass passwordpassword qwertyqwerty asdasd asdasdasd asdqwe123 zxczxc zxc123 zxcasdqwe
qazqaz 1qaz1qaz !qaz2wsx !qaz@wsx 1qaz@wsx qwer4321 4321rewq azerty azerty123 azertyuiop
qwertz qwertz123 123qwe123 q2w3e4r5 monkey1 dragon1 letmein2 iloveyou7 babygirl babygirl1
sweetheart sweetie sweety angel1 angels angel123 princesa fernando alejandro carolina
mariposa tequiero teamo estrella corazon ferrari1 mercedes1 porsche911 chevrolet harley1
yamaha1 kawasaki suzuki honda123 toyota123 nissan bmw123 volkswagen mustang123 corvette1
camaro1 jaguar lamborghini liverpool chelsea1 arsenal1 manutd manchester barcelona
realmadrid juventus milan inter rangers1 celtic1 yankees1 redsox1 cowboys1 steelers1
packers eagles1 patriots lakers1 bulls chicago1 dallas1 boston1 newyork london1 paris
berlin madrid toronto canada america usa123 australia england germany france italia mexico
brasil russia china japan korea india pakistan nigeria kenya 1q2w3e4r5t6y7u 1qazxcvb
zaq1xsw2 zaq1zaq1 zaq1@wsx xsw21qaz mnbvcxz poiuytrewq lkjhgfdsa qwerasdf qwerasdfzxcv
asdfqwer zxcvasdf wasd1234 google google123 facebook facebook1 youtube twitter instagram
linkedin microsoft windows windows7 windows10 apple123 iphone android samsung1 nokia sony
dell lenovo linux ubuntu debian oracle mysql postgres postgres123 database server server123
network network1 cisco cisco123 juniper router wifi wireless internet123 website webmaster
hosting system system123 sysadmin operator monitor monitor123 agent agent123 grafana
prometheus kibana elastic jenkins docker kubernetes devops developer developer1 support
support123 helpdesk service service1 manager manager1 director ceo123 boss123 employee
student student1 teacher school school1 college university soccer1 basketball volleyball
tennis1 golf123 fishing1 hunting skateboard snowboard surfer rockstar rocknroll metallica
nirvana1 beatles eminem tupac pokemon pokemon1 pikachu naruto onepiece dragonball goku
sasuke superman123 spiderman spiderman1 ironman captain avengers marvel starwars123 jedi
yoda darthvader skywalker startrek matrix1 neo123 hacker hacker123 anonymous nothing
something everything anything qwerty! 123456! 12345678! asdfgh1 asdfghjkl1 1234abcd abcd123
abc123abc ab123456 qaz123 wsx123 edc123 123qaz 123wsx purple1 orange1 yellow1 green1
blue123 red123 black123 white123 silver1 golden1 diamond1 crystal1 ruby123 sapphire emerald
rainbow rainbow1 butterfly flower1 flowers sunflower cherry cherry1 banana1 apple apple1
orange123 lemon strawberry chocolate chocolate1 cookie1 cookies cupcake candy candy123
sugar honey honey123 peaches peanut1 coffee1 pizza pizza123 hamburger bacon cheese1
chicken1 turkey dog123 cat123 kitty kitten puppy doggie tiger tiger123 lion123 bear123
wolf123 eagle123 falcon1 hawk123 shark123 dolphin panda monkey12 donkey horse123 cowboy1
pirate ninja ninja123 samurai warrior soldier army123 marine1 navy123 police fireman doctor
nurse lawyer engineer pilot captain1 sailor spirit ghost phantom shadow12 dark123 darkness
devil666 angel666 heaven hell666 jesus jesus123 jesus1 god123 christ faith hope123 grace
blessed blessing trinity genesis bible123 church prayer amen lucky lucky7 lucky123 luck777
777777777 seven777 magic magic123 wizard1 merlin1 gandalf1 hobbit frodo zelda mario luigi
sonic tetris pacman nintendo playstation xbox360 gamer gaming game123 player1 counter
warcraft starcraft diablo2 minecraft1 fortnite roblox steam valve letmein! iloveyou!!
trustme believe forever1 always never together family family1 friends friend friendship
mother1 father mommy daddy baby123 babyboy sister brother children married wedding husband
wifey darling lover kisses hugs sexy sexy123 hottie hotstuff beautiful pretty cutie cute123
handsome gorgeous smile happy happy123 funny crazy crazy123 cool123 awesome superstar
success winner1 champion victory power power123 energy freedom123 liberty justice peace
peace123 hope love4ever loveu 123love mylove loveyou2 iloveme imissyou goodbye hello12 hiya
howdy welcome! qwerty11 qwerty01 qwerty007 james007 bond007 agent007 00700700 letmein01
test1 test12 test12345 testpass tester p4ssword pa$$word pa$$w0rd passwd passwd1 password0
password00 password01 password11 password99 password7 password2 password3 password4
password5 password8 password9 1password 12password 123password passwordx mypassword1
secretpassword supersecret topsecret secret1 secret12 secret1234
`;

export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(LIST.split(/\s+/).filter(Boolean));
